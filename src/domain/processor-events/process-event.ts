import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { prepared } from '../../db/prepared.js';
import { describeDatabaseError, isConnectionError, isTransientError } from '../../db/errors.js';
import { processorEvents, type ProcessorEvent } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import type { Deps } from '../deps.js';
import type { PaymentMovement } from '../metrics/metrics.js';
import { GatewayUnavailableError } from '../gateway/billing-gateway-client.js';
import { ProcessorMoneyError } from '../ledger/money-context.js';
import { applyStripeEvent, type ApplyContext, type ApplyOutcome } from './apply-stripe-event.js';
import { ProcessorEventError } from './processor-event-error.js';
import { retryAfterTransientFailure } from './retry-transient-failure.js';

/**
 * How an event is being applied: `live` right after the webhook stored it; `replay` by the replay
 * worker (skipped when no replay is requested any more); `forced` by an operator, at once;
 * `automatic` by the replay worker for a retry, a release or a sweep (skipped when no replay is owed
 * any more), not counted against the operator's attempt cap.
 */
export type ProcessMode = 'live' | 'replay' | 'forced' | 'automatic';

export type ProcessResult = { event: ProcessorEvent; outcome: 'PROCESSED' | 'IGNORED' | 'FAILED' | 'SKIPPED'; error: string | null };

const APPLIERS: Record<string, (context: ApplyContext, event: ProcessorEvent) => Promise<ApplyOutcome>> = {
  stripe: applyStripeEvent,
};

/**
 * Applies a stored event and records how it went, in one transaction that holds the event's row lock:
 * two workers never apply one event at once, and a crash part-way leaves the event as it was. The
 * invoice changes run in a savepoint, so a failure writes only the error, never half an event.
 */
export async function processEvent(deps: Deps, eventId: string, mode: ProcessMode, beforeCommit?: BeforeCommit): Promise<ProcessResult> {
  const recorded: PaymentMovement[] = [];
  const result = await deps.db.transaction(withBeforeCommit(beforeCommit, async (tx) => {
    const [event] = await lockEvent(tx, { id: eventId });
    if (!event) throw eventNotFound(eventId);
    return applyLockedEvent(deps, tx, event, mode, recorded, writeSuccess);
  }));
  recordCommitted(deps, mode, result, recorded);
  return result;
}

/** Once the event's transaction has committed: a failed event's savepoint was rolled back, its money never recorded. */
export function recordCommitted(deps: Deps, mode: ProcessMode, result: ProcessResult, recorded: PaymentMovement[]): void {
  if (result.outcome === 'PROCESSED') for (const movement of recorded) deps.metrics.recordPayment(movement);
  if (mode !== 'live') deps.metrics.recordReplayAttempt(REPLAY_METRIC[result.outcome]);
}

export const eventNotFound = (eventId: string) => new DomainError('NOT_FOUND', `Processor event ${eventId} not found`);

/**
 * Sees the transaction just before it commits, with what it did: the replay dry run reads what was
 * written there, then throws to roll it all back (src/domain/processor-events/dry-run-replay.ts).
 */
export type BeforeCommit = (tx: Tx, result: ProcessResult) => Promise<void>;

const withBeforeCommit =
  (beforeCommit: BeforeCommit | undefined, apply: (tx: Tx) => Promise<ProcessResult>) =>
  async (tx: Tx): Promise<ProcessResult> => {
    const result = await apply(tx);
    await beforeCommit?.(tx, result);
    return result;
  };

const REPLAY_METRIC = { PROCESSED: 'replayed', IGNORED: 'replayed', FAILED: 'failed', SKIPPED: 'skipped' } as const;

/** What a success writes on the event's row: the outcome, and for a replay its bookkeeping (`attemptsCounted` 0 or 1). */
export type Success = { id: string; outcome: 'PROCESSED' | 'IGNORED'; invoiceId: string | null; processedAt: Date; replay: { attemptsCounted: 0 | 1 } | null };

/**
 * Writes a success on the event's row. `processEvent` writes it at once; the replay worker's batch
 * writes its successes together before its commit (replay-events.ts): nothing in an event's
 * application reads another event's row.
 */
export type WriteSuccess = (tx: Tx, success: Success) => Promise<void>;

const writeSuccess: WriteSuccess = async (tx, { id, outcome, invoiceId, processedAt, replay }) => {
  if (!replay) await appliedLive(tx, { id, outcome, invoiceId, processedAt });
  else await appliedReplay(tx, { id, outcome, invoiceId, processedAt, lastReplayedAt: processedAt, attemptsCounted: replay.attemptsCounted });
};

/**
 * Applies an event whose row the transaction holds locked, as `mode` says, and records how it went: a
 * success through `recordSuccess`, a failure on the row at once (with an automatic retry when it was
 * transient). Returns the event as it now is.
 */
export async function applyLockedEvent(
  deps: Deps,
  tx: Tx,
  event: ProcessorEvent,
  mode: ProcessMode,
  recorded: PaymentMovement[],
  recordSuccess: WriteSuccess,
): Promise<ProcessResult> {
  const eventId = event.id;
  if (mode === 'replay' && !event.replayRequested) return { event, outcome: 'SKIPPED', error: null };
  if (mode === 'automatic' && !(event.replayRequested && event.replayDueAt)) return { event, outcome: 'SKIPPED', error: null };
  // A live delivery applies only an event nobody has tried yet (a redelivery after a crash, say).
  if (mode === 'live' && event.outcome !== 'RECEIVED') return { event, outcome: 'SKIPPED', error: null };

  const isReplay = mode !== 'live';
  const counted = mode === 'replay' || mode === 'forced';
  if (counted && event.replayAttempts >= deps.config.replayMaxAttempts) {
    if (mode === 'forced') throw replayLimitError(event, deps.config.replayMaxAttempts);
    const [updated] = await tx
      .update(processorEvents)
      .set({ lastReplayError: `replay limit of ${deps.config.replayMaxAttempts} attempts reached`, replayDueAt: null })
      .where(eq(processorEvents.id, eventId))
      .returning();
    return { event: updated!, outcome: 'FAILED', error: updated!.lastReplayError };
  }
  const replayBookkeeping = {
    ...(counted ? { replayAttempts: sql`${processorEvents.replayAttempts} + 1` } : {}),
    ...(isReplay ? { lastReplayedAt: new Date() } : {}),
    replayDueAt: null,
  };

  try {
    const applier = APPLIERS[event.provider];
    if (!applier) throw new ProcessorEventError(`unsupported provider "${event.provider}"`);
    const context = { jobs: deps.jobs, gateway: deps.gateway, source: isReplay ? ('REPLAY' as const) : ('WEBHOOK' as const), processorEventId: event.id, recorded };
    const applied = await tx.transaction((savepoint) => applier({ ...context, tx: savepoint }, event));
    // The row is locked: what the update writes is known here, so nothing is read back (the payload least of all).
    const success: Success = {
      id: eventId,
      outcome: applied.outcome,
      invoiceId: applied.invoiceId ?? event.invoiceId,
      processedAt: new Date(),
      replay: isReplay ? { attemptsCounted: counted ? 1 : 0 } : null,
    };
    await recordSuccess(tx, success);
    const written = { outcome: success.outcome, invoiceId: success.invoiceId, processedAt: success.processedAt, replayRequested: false, lastReplayError: null, replayDueAt: null };
    const replayed = isReplay ? { replayAttempts: event.replayAttempts + (counted ? 1 : 0), lastReplayedAt: success.processedAt } : {};
    return { event: { ...event, ...written, ...replayed }, outcome: applied.outcome, error: null };
  } catch (error) {
    if (isConnectionError(error)) throw error;
    const explained = error instanceof ProcessorEventError || error instanceof ProcessorMoneyError;
    // A processor that did not answer a fetch is as passing as a deadlock: retried automatically.
    const unanswered = error instanceof GatewayUnavailableError;
    const transient = unanswered || isTransientError(error);
    if (transient) deps.logger.warn({ err: error, eventId }, 'transient error applying a processor event');
    else if (!explained) deps.logger.error({ err: error, eventId }, 'unexpected error applying a processor event');
    const message = explained
      ? error.message
      : unanswered
        ? `transient error: the processor did not answer a fetch of what the event leaves out (${error.message})`
        : transient
          ? `transient error: ${describeDatabaseError(error)}`
          : // Never Drizzle's own message: it quotes the statement and its parameters (payloads, ids).
            `unexpected error: ${describeDatabaseError(error)}`;
    const [updated] = await tx
      .update(processorEvents)
      .set({ outcome: 'FAILED', replayRequested: true, lastReplayError: message, ...replayBookkeeping })
      .where(eq(processorEvents.id, eventId))
      .returning();
    if (transient) await retryAfterTransientFailure(tx, deps.jobs, event);
    return { event: updated!, outcome: 'FAILED', error: message };
  }
}

export function replayLimitError(event: ProcessorEvent, cap: number): DomainError {
  return new DomainError('REPLAY_LIMIT_REACHED', `Event ${event.id} has been replayed ${event.replayAttempts} times (limit ${cap})`, {
    replayAttempts: event.replayAttempts,
    limit: cap,
  });
}

const lockEvent = prepared('lock_processor_event', (db) => db.select().from(processorEvents).where(eq(processorEvents.id, sql.placeholder('id'))).for('update'));

/** What every success writes; the replay's statement adds its bookkeeping. */
const appliedFields = {
  outcome: sql`${sql.placeholder('outcome')}`,
  invoiceId: sql`${sql.placeholder('invoiceId')}`,
  processedAt: sql`${sql.placeholder('processedAt')}`,
  replayRequested: false,
  lastReplayError: null,
  replayDueAt: null,
};

/**
 * A live delivery's success (its replay bookkeeping is only `replayDueAt: null`), built once. Nothing
 * is returned: the event's row is locked, so the caller knows what it now holds.
 */
const appliedLive = prepared('processor_event_applied', (db) =>
  db.update(processorEvents).set(appliedFields).where(eq(processorEvents.id, sql.placeholder('id'))),
);

/** A replay's success (`attemptsCounted` 1 for an operator's replay, 0 for an automatic one), built once; nothing returned. */
const appliedReplay = prepared('processor_event_replayed', (db) =>
  db
    .update(processorEvents)
    .set({
      ...appliedFields,
      replayAttempts: sql`${processorEvents.replayAttempts} + ${sql.placeholder('attemptsCounted')}::int`,
      lastReplayedAt: sql`${sql.placeholder('lastReplayedAt')}`,
    })
    .where(eq(processorEvents.id, sql.placeholder('id'))),
);
