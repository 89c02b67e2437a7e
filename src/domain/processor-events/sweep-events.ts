import { and, asc, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { eventIsUnapplied, eventReplayIsDue } from '../../db/partial-indexes.js';
import { processorEvents } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import type { ReplayReason } from '../jobs/queues.js';
import { scheduleReplays } from './schedule-replays.js';

/** A live delivery applies its event within a second or so: one still RECEIVED after a minute was left by a crash. */
export const UNAPPLIED_GRACE_SECONDS = 60;
/**
 * A job that ran, or expired and was retried, would have cleared its event's mark well within this many
 * job expiries past its due time; a mark older than that means the job was lost (retries used up).
 */
const OVERDUE_AFTER_EXPIRIES = 5;
const BATCH_SIZE = 200;

export type SweepResult = { unapplied: number; overdue: number };

/**
 * The safety net under the replay queue, run every minute and at worker start: events stored but never
 * applied (a crash between storing and answering), and events owed a replay whose job was lost, get a
 * job again. Both lists are partial indexes of the rows still waiting, so a sweep costs the same
 * however long the history is. Rows locked right now are being applied, and are left alone.
 */
export async function sweepProcessorEvents(deps: Pick<Deps, 'db' | 'jobs' | 'config'>): Promise<SweepResult> {
  const unapplied = await sweep(
    deps,
    and(
      eventIsUnapplied,
      sql`${processorEvents.receivedAt} < now() - make_interval(secs => ${UNAPPLIED_GRACE_SECONDS})`,
      sql`${processorEvents.replayDueAt} IS NULL`,
    )!,
    asc(processorEvents.receivedAt),
    'unapplied',
  );
  const overdueSeconds = OVERDUE_AFTER_EXPIRIES * deps.config.replayJobExpireSeconds;
  const overdue = await sweep(
    deps,
    and(
      eventReplayIsDue,
      sql`${processorEvents.replayRequested}`,
      lt(processorEvents.replayDueAt, sql`now() - make_interval(secs => ${overdueSeconds})`),
    )!,
    asc(processorEvents.replayDueAt),
    'overdue',
  );
  return { unapplied, overdue };
}

/** In batches, each its own transaction; a swept event's mark moves to now, so it leaves the list. */
async function sweep(deps: Pick<Deps, 'db' | 'jobs'>, condition: SQL, order: SQL, reason: ReplayReason): Promise<number> {
  let total = 0;
  for (;;) {
    const swept = await deps.db.transaction((tx) => {
      const batch = tx
        .select({ id: processorEvents.id })
        .from(processorEvents)
        .where(condition)
        .orderBy(order)
        .limit(BATCH_SIZE)
        .for('update', { skipLocked: true });
      return scheduleReplays(tx, deps.jobs, inArray(processorEvents.id, batch), reason);
    });
    total += swept.length;
    if (swept.length < BATCH_SIZE) return total;
  }
}
