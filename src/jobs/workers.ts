import type PgBoss from 'pg-boss';
import type { Deps } from '../domain/deps.js';
import { captureNotificationHandler } from './handlers/capture-notification.js';
import { processorEventReplayHandler } from './handlers/processor-event-replay.js';
import { reconciliationHandler } from './handlers/reconciliation.js';

/**
 * Registers every queue's worker and the reconciliation schedule; any number of worker processes may
 * run these against one Postgres (pg-boss hands each job to one of them, and fires each cron once).
 */
export async function startWorkers(boss: PgBoss, deps: Deps): Promise<void> {
  await boss.schedule('reconciliation', deps.config.reconciliationCron, { trigger: 'SCHEDULE' }, { tz: 'UTC' });
  await boss.work('reconciliation', { batchSize: 1, pollingIntervalSeconds: 2 }, reconciliationHandler(deps));
  await boss.work('capture-notification', { batchSize: 1, pollingIntervalSeconds: 1 }, captureNotificationHandler(deps));
  await boss.work('processor-event-replay', { batchSize: 1, pollingIntervalSeconds: 1 }, processorEventReplayHandler(deps));
}
