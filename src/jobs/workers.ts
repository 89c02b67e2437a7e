import type PgBoss from 'pg-boss';
import type { Deps } from '../domain/deps.js';
import { captureNotificationHandler } from './handlers/capture-notification.js';
import { processorEventReplayHandler } from './handlers/processor-event-replay.js';

/** Registers every queue's worker; any number of worker processes may run these against one Postgres. */
export async function startWorkers(boss: PgBoss, deps: Deps): Promise<void> {
  await boss.work('capture-notification', { batchSize: 1, pollingIntervalSeconds: 1 }, captureNotificationHandler(deps));
  await boss.work('processor-event-replay', { batchSize: 1, pollingIntervalSeconds: 1 }, processorEventReplayHandler(deps));
}
