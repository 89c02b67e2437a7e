import type PgBoss from 'pg-boss';
import type { Deps } from '../domain/deps.js';
import type { QueueName } from '../domain/jobs/queues.js';
import { REPLAYS_PER_TRANSACTION } from '../domain/processor-events/replay-events.js';
import { workInBatches, workInGroups, type BatchOptions, type GroupHandler, type JobHandler } from './batch.js';
import { captureNotificationHandler } from './handlers/capture-notification.js';
import { processorEventReplayHandler } from './handlers/processor-event-replay.js';
import { processorEventSweepHandler } from './handlers/processor-event-sweep.js';
import { reconciliationHandler } from './handlers/reconciliation.js';
import { settleAttemptHandler } from './handlers/settle-attempt.js';

type Working<N extends QueueName> = BatchOptions & { loops: number } & ({ handler: (deps: Deps) => JobHandler<N> } | { groupHandler: (deps: Deps) => GroupHandler<N> });

/**
 * How each queue is worked in one process. pg-boss 10 waits a polling interval after every fetch, even
 * a full one, unless its worker is notified: a loop whose batch was full is, so a backlog drains at the
 * speed of the jobs, and an idle loop costs one fetch per interval. Replays: batches of 100, so one
 * fetch and one completion serve a hundred events, applied ten to a transaction (replay-events.ts),
 * eight transactions at a time (the pool has ten connections, shared with the other queues); no group
 * of a batch starts after half its expiry (docs/architecture.md, "Replay durability decisions").
 * Notifications are HTTP calls: a batch's 50 run side by side.
 */
const WORKING: { [N in QueueName]: Working<N> } = {
  'capture-notification': { loops: 2, batchSize: 50, pollingIntervalSeconds: 0.5, concurrency: 50, handler: captureNotificationHandler },
  'processor-event-replay': { loops: 1, batchSize: 100, pollingIntervalSeconds: 0.5, concurrency: 8, groupSize: REPLAYS_PER_TRANSACTION, startWithinShareOfExpiry: 0.5, groupHandler: processorEventReplayHandler },
  reconciliation: { loops: 1, batchSize: 1, pollingIntervalSeconds: 2, concurrency: 1, handler: reconciliationHandler },
  'settle-attempt': { loops: 1, batchSize: 20, pollingIntervalSeconds: 1, concurrency: 20, handler: settleAttemptHandler },
  'processor-event-sweep': { loops: 1, batchSize: 1, pollingIntervalSeconds: 2, concurrency: 1, handler: processorEventSweepHandler },
};

/** The replay sweeper's schedule: every minute (pg-boss's finest cron), and once as each worker starts. */
const SWEEP_CRON = '* * * * *';

/**
 * Registers every queue's worker and the reconciliation and sweep schedules; any number of worker
 * processes may run these against one Postgres (pg-boss hands each job to one of them, and fires each
 * cron once). A starting worker also sweeps at once: it may be replacing one that died.
 */
export async function startWorkers(boss: PgBoss, deps: Deps): Promise<void> {
  await boss.schedule('reconciliation', deps.config.reconciliationCron, { trigger: 'SCHEDULE' }, { tz: 'UTC' });
  await boss.schedule('processor-event-sweep', SWEEP_CRON, { trigger: 'SCHEDULE' }, { tz: 'UTC' });
  await boss.send('processor-event-sweep', { trigger: 'START' });
  for (const name of Object.keys(WORKING) as QueueName[]) await work(boss, deps, name, WORKING[name] as Working<typeof name>);
}

async function work<N extends QueueName>(boss: PgBoss, deps: Deps, name: N, working: Working<N>): Promise<void> {
  const { loops, ...options } = working;
  // Each handler is built once and shared by the queue's loops.
  if ('groupHandler' in working) {
    const handle = working.groupHandler(deps);
    for (let loop = 0; loop < loops; loop++) await workInGroups(boss, name, options, handle, deps.logger);
  } else {
    const handle = working.handler(deps);
    for (let loop = 0; loop < loops; loop++) await workInBatches(boss, name, options, handle, deps.logger);
  }
}
