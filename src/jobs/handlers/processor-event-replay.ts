import type PgBoss from 'pg-boss';
import type { Deps } from '../../domain/deps.js';
import type { QueuePayloads } from '../../domain/jobs/queues.js';
import { replayRequestedEvent } from '../../domain/processor-events/trigger-replay.js';

/** ProcessorEventReplayWorker: replays one event per job; the event's row lock keeps two workers apart. */
export const processorEventReplayHandler =
  (deps: Deps) =>
  async (jobs: PgBoss.Job<QueuePayloads['processor-event-replay']>[]): Promise<void> => {
    for (const job of jobs) {
      const result = await replayRequestedEvent(deps, job.data.processorEventId);
      deps.logger.info({ eventId: job.data.processorEventId, outcome: result.outcome, error: result.error }, 'processor event replay');
    }
  };
