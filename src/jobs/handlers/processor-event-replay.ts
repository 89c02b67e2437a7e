import type PgBoss from 'pg-boss';
import type { Deps } from '../../domain/deps.js';
import type { QueuePayloads } from '../../domain/jobs/queues.js';
import { replayRequestedEvent } from '../../domain/processor-events/trigger-replay.js';

/** ProcessorEventReplayWorker: replays one event per job; the event's row lock keeps two workers apart. */
export const processorEventReplayHandler =
  (deps: Deps) =>
  async (job: PgBoss.Job<QueuePayloads['processor-event-replay']>): Promise<void> => {
    const result = await replayRequestedEvent(deps, job.data.processorEventId);
    deps.logger.info({ eventId: job.data.processorEventId, outcome: result.outcome, error: result.error }, 'processor event replay');
  };
