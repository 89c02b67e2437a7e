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
  const result = await applyInTransaction(deps, eventId, mode, recorded, beforeCommit);
  // Only now is it committed. A failed event's savepoint was rolled back: its money was never recorded.
  if (result.outcome === 'PROCESSED') for (const movement of recorded) deps.metrics.recordPayment(movement);
  if (mode !== 'live') deps.metrics.recordReplayAttempt(REPLAY_METRIC[result.outcome]);
  return result;
}

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

function applyInTransaction(
  deps: Deps,
  eventId: string,
  mode: ProcessMode,
  recorded: PaymentMovement[],
  beforeCommit?: BeforeCommit,
): Promise<ProcessResult> {
  return deps.db.transaction(withBeforeCommit(beforeCommit, async (tx) => {
    const [event] = await lockEvent(tx, { id: eventId });
    if (!event) throw new DomainError('NOT_FOUND', `Processor event ${eventId} not found`);
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
      if (mode === 'live') {
        const written = { outcome: applied.outcome, invoiceId: applied.invoiceId ?? event.invoiceId, processedAt: new Date(), replayRequested: false, lastReplayError: null, replayDueAt: null };
        await appliedLive(tx, { id: eventId, outcome: written.outcome, invoiceId: written.invoiceId, processedAt: written.processedAt });
        return { event: { ...event, ...written }, outcome: applied.outcome, error: null };
      }
      // The row is locked: what the update writes is known here, so nothing is read back (the payload least of all).
      const now = new Date();
      const written = {
        outcome: applied.outcome,
        invoiceId: applied.invoiceId ?? event.invoiceId,
        processedAt: now,
        replayRequested: false,
        lastReplayError: null,
        replayAttempts: event.replayAttempts + (counted ? 1 : 0),
        lastReplayedAt: now,
        replayDueAt: null,
      };
      await appliedReplay(tx, { id: eventId, outcome: written.outcome, invoiceId: written.invoiceId, processedAt: now, lastReplayedAt: now, attemptsCounted: counted ? 1 : 0 });
      const updated: ProcessorEvent = { ...event, ...written };
      return { event: updated, outcome: applied.outcome, error: null };
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
  }));
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
