import type PgBoss from 'pg-boss';
import type { Deps } from '../../domain/deps.js';
import type { QueuePayloads } from '../../domain/jobs/queues.js';
import { deliverCaptureNotifications } from '../../domain/notifications/capture-notification.js';

/** A batch of notifications, read together and posted side by side; each failure fails its own job, which pg-boss retries. */
export const captureNotificationHandler =
  (deps: Deps) =>
  (jobs: PgBoss.Job<QueuePayloads['capture-notification']>[]): Promise<(Error | null)[]> =>
    deliverCaptureNotifications(
      deps,
      jobs.map((job) => job.data),
    );
