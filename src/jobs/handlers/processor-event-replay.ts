import type PgBoss from 'pg-boss';
import type { Deps } from '../../domain/deps.js';
import type { QueuePayloads } from '../../domain/jobs/queues.js';
import { replayRequestedEvents } from '../../domain/processor-events/replay-events.js';

/**
 * ProcessorEventReplayWorker: replays a group of jobs' events in one transaction, each event on its own
 * (replay-events.ts); the events' row locks keep two workers apart, and a job run twice (its worker
 * died after committing) finds nothing left to do. A job whose event is gone fails alone; a throw (the
 * database is gone) fails the group, and pg-boss retries each job with backoff.
 */
export const processorEventReplayHandler =
  (deps: Deps) =>
  async (jobs: PgBoss.Job<QueuePayloads['processor-event-replay']>[]): Promise<(Error | null)[]> => {
    const requests = jobs.map((job) => ({ eventId: job.data.processorEventId, reason: job.data.reason }));
    const results = await replayRequestedEvents(deps, requests);
    return results.map((replayed, index) => {
      const { eventId, reason } = requests[index]!;
      if (!replayed.ok) return replayed.error;
      const { outcome, error } = replayed.result;
      deps.logger.info({ eventId, reason, outcome, error }, 'processor event replay');
      return null;
    });
  };
