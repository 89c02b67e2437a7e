import { and, eq, or } from 'drizzle-orm';
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
  const [event] = await db
    .insert(processorEvents)
    .values({ ...incoming, paymentIntentRef: paymentIntentReferenced(incoming), replayRequested: true, outcome: 'RECEIVED' })
    .onConflictDoNothing()
    .returning({ id: processorEvents.id });
  return event ? { inserted: true, eventId: event.id } : { inserted: false };
}

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
