import type PgBoss from 'pg-boss';
import type { Deps } from '../../domain/deps.js';
import type { QueuePayloads } from '../../domain/jobs/queues.js';
import { runReconciliation } from '../../domain/reconciliation/reconcile.js';

/** The hourly schedule (and any job on the queue) runs one reconciliation; failures are recorded on the run. */
export const reconciliationHandler =
  (deps: Deps) =>
  async (job: PgBoss.Job<QueuePayloads['reconciliation']>): Promise<void> => {
    await runReconciliation(deps, { trigger: job.data.trigger ?? 'SCHEDULE' });
  };
