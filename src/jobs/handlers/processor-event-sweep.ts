import type PgBoss from 'pg-boss';
import type { Deps } from '../../domain/deps.js';
import type { QueuePayloads } from '../../domain/jobs/queues.js';
import { sweepProcessorEvents } from '../../domain/processor-events/sweep-events.js';

/** Every minute and at worker start: re-enqueue the events whose replay would otherwise never come. */
export const processorEventSweepHandler =
  (deps: Deps) =>
  async (job: PgBoss.Job<QueuePayloads['processor-event-sweep']>): Promise<void> => {
    const swept = await sweepProcessorEvents(deps);
    if (swept.unapplied + swept.overdue > 0) deps.logger.info({ ...swept, trigger: job.data.trigger }, 'processor events swept');
  };
