import { and, eq, or, sql } from 'drizzle-orm';
import { prepared } from '../../db/prepared.js';
import type { DbOrTx } from '../../db/client.js';
import { processorEvents, type ProcessorEvent } from '../../db/schema/index.js';
import { paymentIntentReferenced } from './payment-intent-ref.js';

export type IncomingProcessorEvent = {
  provider: string;
  externalId: string;
  eventType: string;
  payload: Record<string, unknown>;
  /** Hash of what the event says (not of its id): the same payload under a new event id is a duplicate. */
  payloadHash: string;
  correlationId: string | null;
  workspaceHint: string | null;
};

/**
 * Stores a processor event exactly once: a single INSERT … ON CONFLICT DO NOTHING that honours both
 * unique keys (provider + external id, provider + payload hash). Not inserted means a duplicate.
 * The row starts with replay_requested = true, so an event whose application never finishes is
 * still waiting for a replay rather than lost.
 */
export async function recordProcessorEvent(
  db: DbOrTx,
  incoming: IncomingProcessorEvent,
): Promise<{ inserted: true; eventId: string } | { inserted: false }> {
  // Only the id comes back: the payload (several KB for real Stripe events) is already in hand.
  const [event] = await insertEvent(db, { ...incoming, paymentIntentRef: paymentIntentReferenced(incoming) });
  return event ? { inserted: true, eventId: event.id } : { inserted: false };
}

const insertEvent = prepared('insert_processor_event', (db) =>
  db
    .insert(processorEvents)
    .values({
      provider: sql.placeholder('provider'),
      externalId: sql.placeholder('externalId'),
      eventType: sql.placeholder('eventType'),
      payload: sql.placeholder('payload'),
      payloadHash: sql.placeholder('payloadHash'),
      correlationId: sql.placeholder('correlationId'),
      workspaceHint: sql.placeholder('workspaceHint'),
      paymentIntentRef: sql.placeholder('paymentIntentRef'),
      replayRequested: true,
      outcome: 'RECEIVED',
    })
    .onConflictDoNothing()
    .returning({ id: processorEvents.id }),
);

/** A poison event: signed and well-formed, but its payload cannot be stored as jsonb. */
export type UnstorableProcessorEvent = Omit<IncomingProcessorEvent, 'payload'> & {
  /** The delivery's exact bytes. */
  raw: Buffer;
  /** Why it could not be stored, in words for operators (`last_replay_error`). */
  reason: string;
};

/**
 * Stores a poison event once, with the same two unique keys, so a redelivery is a duplicate: its
 * exact bytes in `payload_raw`, a placeholder `payload` that names it, its texts with any NUL
 * written as the escape `\u0000` (text columns cannot hold U+0000). It is parked: outcome FAILED
 * with the reason, and no replay requested, since no replay could apply it.
 */
export async function recordUnstorableEvent(
  db: DbOrTx,
  event: UnstorableProcessorEvent,
): Promise<{ inserted: true; eventId: string } | { inserted: false }> {
  const externalId = escapeNul(event.externalId);
  const eventType = escapeNul(event.eventType);
  const lastReplayError = escapeNul(`unstorable payload, parked and never applied: ${event.reason}. Its exact bytes are kept in payload_raw.`);
  const [stored] = await db
    .insert(processorEvents)
    .values({
      provider: event.provider,
      externalId,
      eventType,
      payload: { object: 'event', id: externalId, type: eventType, unstorable: lastReplayError },
      payloadRaw: event.raw,
      payloadHash: event.payloadHash,
      correlationId: event.correlationId === null ? null : escapeNul(event.correlationId),
      workspaceHint: event.workspaceHint,
      outcome: 'FAILED',
      replayRequested: false,
      lastReplayError,
    })
    .onConflictDoNothing()
    .returning({ id: processorEvents.id });
  return stored ? { inserted: true, eventId: stored.id } : { inserted: false };
}

const escapeNul = (text: string): string => text.replaceAll('\u0000', '\\u0000');

/** The stored event an incoming duplicate collided with. */
export async function findDuplicateOf(db: DbOrTx, incoming: IncomingProcessorEvent): Promise<ProcessorEvent | undefined> {
  const [event] = await db
    .select()
    .from(processorEvents)
    .where(
      and(
        eq(processorEvents.provider, incoming.provider),
        or(eq(processorEvents.externalId, incoming.externalId), eq(processorEvents.payloadHash, incoming.payloadHash)),
      ),
    )
    .limit(1);
  return event;
}
