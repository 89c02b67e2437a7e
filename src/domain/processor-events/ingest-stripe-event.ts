import { createHash } from 'node:crypto';
import { describeDatabaseError, isUnstorableValue } from '../../db/errors.js';
import type { Deps } from '../deps.js';
import { processEvent, type ProcessResult } from './process-event.js';
import { findDuplicateOf, recordProcessorEvent, recordUnstorableEvent, type UnstorableProcessorEvent } from './record-processor-event.js';
import { correlationIdOf, toIncomingEvent, workspaceHintOf, type StripeEventEnvelope } from './stripe-event.js';

/** `parked`: a poison event, stored byte for byte and never applied (see recordUnstorableEvent). */
export type WebhookStatus = 'processed' | 'duplicate' | 'ignored' | 'queued' | 'parked';

/**
 * Deeper than any Stripe object (theirs nest about ten levels): beyond it a payload is poison, refused
 * before anything walks it recursively (JSON.stringify overflows the stack at a few thousand levels,
 * Postgres's jsonb a little later).
 */
export const MAX_PAYLOAD_DEPTH = 100;

/**
 * A verified Stripe event: stored exactly once and committed before any invoice changes, then applied.
 * Errors before the event is stored propagate (the route answers 503 and Stripe retries), except a
 * payload that can never be stored as JSON: given the delivery's exact bytes (`raw`), it is stored as
 * they are and parked, so Stripe stops retrying what no retry could fix.
 */
export async function ingestStripeEvent(deps: Deps, event: StripeEventEnvelope, raw?: Buffer): Promise<WebhookStatus> {
  const status = await ingest(deps, event, raw);
  deps.metrics.recordProcessorEvent('stripe', event.type, status);
  return status;
}

async function ingest(deps: Deps, event: StripeEventEnvelope, raw: Buffer | undefined): Promise<WebhookStatus> {
  if (raw && depthExceeds(event, MAX_PAYLOAD_DEPTH)) {
    // Not even its hash can be computed from the parsed value: the bytes stand in for it.
    const payloadHash = `raw-sha256:${createHash('sha256').update(raw).digest('hex')}`;
    return park(deps, unstorable(event, raw, payloadHash, `nested deeper than ${MAX_PAYLOAD_DEPTH} levels`));
  }
  const incoming = toIncomingEvent(event);
  let recorded: Awaited<ReturnType<typeof recordProcessorEvent>>;
  try {
    recorded = await recordProcessorEvent(deps.db, incoming);
  } catch (error) {
    if (!raw || !isUnstorableValue(error)) throw error;
    const reason = `Postgres refused it (${describeDatabaseError(error)})`;
    return park(deps, unstorable(event, raw, incoming.payloadHash, reason));
  }
  if (!recorded.inserted) {
    // Stored before but never applied (the process died in between): the redelivery finishes the job.
    const stored = await findDuplicateOf(deps.db, incoming);
    if (stored?.outcome === 'RECEIVED') await processEvent(deps, stored.id, 'live');
    return 'duplicate';
  }
  return statusOf(await processEvent(deps, recorded.eventId, 'live'));
}

async function park(deps: Deps, event: UnstorableProcessorEvent): Promise<WebhookStatus> {
  const parked = await recordUnstorableEvent(deps.db, event);
  return parked.inserted ? 'parked' : 'duplicate';
}

function unstorable(event: StripeEventEnvelope, raw: Buffer, payloadHash: string, reason: string): UnstorableProcessorEvent {
  return {
    provider: 'stripe',
    externalId: event.id,
    eventType: event.type,
    payloadHash,
    correlationId: correlationIdOf(event),
    workspaceHint: workspaceHintOf(event),
    raw,
    reason,
  };
}

/**
 * SKIPPED: a concurrent delivery of the same event (a redelivery, or the same payload under another
 * id) took the row lock first and applied it; the row, read under the lock, says how that went.
 */
function statusOf(result: ProcessResult): WebhookStatus {
  const outcome = result.outcome === 'SKIPPED' ? result.event.outcome : result.outcome;
  if (outcome === 'PROCESSED') return 'processed';
  if (outcome === 'IGNORED') return 'ignored';
  return 'queued';
}

/** Iterative, so that a hostile depth cannot overflow the stack while it is measured. */
function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}
