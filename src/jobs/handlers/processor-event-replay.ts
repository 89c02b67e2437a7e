import type PgBoss from 'pg-boss';
import type { Deps } from '../../domain/deps.js';
import type { QueuePayloads } from '../../domain/jobs/queues.js';
import { replayRequestedEvent } from '../../domain/processor-events/trigger-replay.js';

/**
 * ProcessorEventReplayWorker: replays one event per job; the event's row lock keeps two workers apart,
 * and a job run twice (its worker died after committing) finds nothing left to do. A throw (the
 * database is gone) fails the job, and pg-boss retries it with backoff.
 */
export const processorEventReplayHandler =
  (deps: Deps) =>
  async (job: PgBoss.Job<QueuePayloads['processor-event-replay']>): Promise<void> => {
    const { processorEventId, reason } = job.data;
    const result = await replayRequestedEvent(deps, processorEventId, reason);
    deps.logger.info({ eventId: processorEventId, reason, outcome: result.outcome, error: result.error }, 'processor event replay');
  };
