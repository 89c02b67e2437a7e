import { sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { processorEvents } from '../../db/schema/index.js';
import type { JobQueue, ReplayReason } from '../jobs/queues.js';

/**
 * Owes every event matching `condition` a replay, from `delaySeconds` on: marks it (`replay_due_at`)
 * and enqueues its job in the caller's transaction, so the mark and the job commit or roll back
 * together. processEvent clears the mark when it records the event's outcome; a mark that stays past
 * its due time means the job was lost, and the sweeper enqueues another. The event id is the job's
 * singleton key: while one job for the event is still queued, no second one is added.
 */
export async function scheduleReplays(tx: Tx, jobs: JobQueue, condition: SQL, reason: ReplayReason, delaySeconds = 0): Promise<string[]> {
  const owed = await tx
    .update(processorEvents)
    .set({ replayDueAt: sql`now() + make_interval(secs => ${delaySeconds})` })
    .where(condition)
    .returning({ id: processorEvents.id });
  for (const { id } of owed) {
    await jobs.enqueue(tx, 'processor-event-replay', { processorEventId: id, reason }, { singletonKey: id, startAfterSeconds: delaySeconds });
  }
  return owed.map(({ id }) => id);
}
