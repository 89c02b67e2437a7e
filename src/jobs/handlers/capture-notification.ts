import type PgBoss from 'pg-boss';
import type { Deps } from '../../domain/deps.js';
import type { QueuePayloads } from '../../domain/jobs/queues.js';
import { deliverCaptureNotification } from '../../domain/notifications/capture-notification.js';

export const captureNotificationHandler =
  (deps: Deps) =>
  async (jobs: PgBoss.Job<QueuePayloads['capture-notification']>[]): Promise<void> => {
    for (const job of jobs) await deliverCaptureNotification(deps, job.data);
  };
