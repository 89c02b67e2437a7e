import type PgBoss from 'pg-boss';
import type { Deps } from '../../domain/deps.js';
import type { QueuePayloads } from '../../domain/jobs/queues.js';
import { deliverCaptureNotification } from '../../domain/notifications/capture-notification.js';

/** One notification per job; a failure throws, and pg-boss retries that job. */
export const captureNotificationHandler =
  (deps: Deps) =>
  async (job: PgBoss.Job<QueuePayloads['capture-notification']>): Promise<void> => {
    await deliverCaptureNotification(deps, job.data);
  };
