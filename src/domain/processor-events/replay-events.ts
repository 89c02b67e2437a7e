import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { executeText, prepared } from '../../db/prepared.js';
import { processorEvents } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import type { ReplayReason } from '../jobs/queues.js';
import type { PaymentMovement } from '../metrics/metrics.js';
import { applyLockedEvent, eventNotFound, recordCommitted, type ProcessMode, type ProcessResult, type Success } from './process-event.js';

export type ReplayRequest = { eventId: string; reason?: ReplayReason };

/** Each request's own result: how its event went, or why it could not be replayed (its event is gone). */
export type ReplayRequestResult = { ok: true; result: ProcessResult } | { ok: false; error: Error };

/**
 * Most replay jobs one transaction takes. Each event's application is a savepoint, a subtransaction:
 * past 64 in one transaction Postgres's snapshots overflow their subtransaction cache and every
 * session's visibility checks slow down, so a transaction stays well below that.
 */
export const MAX_REPLAYS_PER_TRANSACTION = 20;

/** What the replay worker gives one transaction: ten measured as fast as twenty, with half the locks held for half as long. */
export const REPLAYS_PER_TRANSACTION = 10;

/**
 * The replay worker's requests (a job each), applied in one transaction: an operator's replay (counted)
 * if a replay is still requested, an automatic one (not counted) if a replay is still owed; jobs from
 * before reasons existed are the operator's. Each event is applied as `processEvent` applies one alone
 * (the same `applyLockedEvent`, its invoice changes in a savepoint of their own, so one bad event fails
 * alone and writes only its error). What is shared is the framing: the events are
 * locked in one statement (in id order, so two transactions never wait on each other's events), their
 * successes are written in one statement before the one commit. A commit, a lock and an update per event
 * fewer; the price is that the events' row and invoice locks are held until the last one is applied, and
 * that a failure of the transaction itself (the database gone, an event locked past lock_timeout) fails
 * every request of it, to be retried (a request's job is retried; its event's row says what is left to do).
 */
export async function replayRequestedEvents(deps: Deps, requests: readonly ReplayRequest[]): Promise<ReplayRequestResult[]> {
  if (requests.length > MAX_REPLAYS_PER_TRANSACTION) throw new Error(`at most ${MAX_REPLAYS_PER_TRANSACTION} replays in a transaction, not ${requests.length}`);
  const recorded: PaymentMovement[][] = requests.map(() => []);
  const modes = requests.map((request): ProcessMode => (request.reason === undefined || request.reason === 'operator' ? 'replay' : 'automatic'));
  const results = await deps.db.transaction(async (tx) => {
    const locked = new Map((await lockEvents(tx, { ids: [...new Set(requests.map((request) => request.eventId))] })).map((event) => [event.id, event]));
    const successes: Success[] = [];
    const results: ReplayRequestResult[] = [];
    for (const [index, request] of requests.entries()) {
      const event = locked.get(request.eventId);
      if (!event) {
        results.push({ ok: false, error: eventNotFound(request.eventId) });
        continue;
      }
      const result = await applyLockedEvent(deps, tx, event, modes[index]!, recorded[index]!, async (_tx, success) => void successes.push(success));
      // Two jobs for one event (an operator's and a retry's): the second sees what the first did.
      locked.set(event.id, result.event);
      results.push({ ok: true, result });
    }
    await writeSuccesses(tx, successes);
    return results;
  });
  for (const [index, outcome] of results.entries()) if (outcome.ok) recordCommitted(deps, modes[index]!, outcome.result, recorded[index]!);
  return results;
}

const lockEvents = prepared('lock_processor_events', (db) =>
  db
    .select()
    .from(processorEvents)
    .where(sql`${processorEvents.id} = ANY(${sql.placeholder('ids')}::uuid[])`)
    .orderBy(processorEvents.id)
    .for('update'),
);

/**
 * The replays' successes, as `processEvent` writes each (process-event.ts, `appliedReplay`), in one
 * statement. The times go as ISO text: Drizzle sends a `timestamptz[]` parameter unserialized.
 */
const WRITE_SUCCESSES = `UPDATE processor_events AS e SET
  outcome = s.outcome, invoice_id = s.invoice_id, processed_at = s.processed_at::timestamptz, replay_requested = false,
  last_replay_error = NULL, replay_due_at = NULL, replay_attempts = e.replay_attempts + s.attempts_counted,
  last_replayed_at = s.processed_at::timestamptz
FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::int[]) AS s(id, outcome, invoice_id, processed_at, attempts_counted)
WHERE e.id = s.id`;

async function writeSuccesses(tx: Tx, successes: Success[]): Promise<void> {
  if (successes.length === 0) return;
  await executeText(tx, WRITE_SUCCESSES, [
    successes.map((success) => success.id),
    successes.map((success) => success.outcome),
    successes.map((success) => success.invoiceId),
    successes.map((success) => success.processedAt.toISOString()),
    successes.map((success) => success.replay?.attemptsCounted ?? 0),
  ]);
}
