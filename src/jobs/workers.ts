import type PgBoss from 'pg-boss';
import type { Deps } from '../domain/deps.js';
import type { QueueName, QueuePayloads } from '../domain/jobs/queues.js';
import { captureNotificationHandler } from './handlers/capture-notification.js';
import { processorEventReplayHandler } from './handlers/processor-event-replay.js';
import { processorEventSweepHandler } from './handlers/processor-event-sweep.js';
import { reconciliationHandler } from './handlers/reconciliation.js';
import { settleAttemptHandler } from './handlers/settle-attempt.js';

type JobHandler<N extends QueueName> = (job: PgBoss.Job<QueuePayloads[N]>) => Promise<void>;

/**
 * How each queue is worked in one process. pg-boss 10 waits a polling interval after every fetch, even
 * a full one, so throughput is `loops × batchSize / interval`: notifications must keep up with captures
 * (a capture bench enqueued ~150/s); replays drain a backlog at up to ~20/s (a crash can leave
 * hundreds), ten at a time so that they never take more of the pool than before; reconciliation and
 * the sweep need not hurry.
 */
const WORKING: { [N in QueueName]: { loops: number; batchSize: number; pollingIntervalSeconds: number; handler: (deps: Deps) => JobHandler<N> } } = {
  'capture-notification': { loops: 2, batchSize: 50, pollingIntervalSeconds: 0.5, handler: captureNotificationHandler },
  'processor-event-replay': { loops: 1, batchSize: 10, pollingIntervalSeconds: 0.5, handler: processorEventReplayHandler },
  reconciliation: { loops: 1, batchSize: 1, pollingIntervalSeconds: 2, handler: reconciliationHandler },
  'settle-attempt': { loops: 1, batchSize: 20, pollingIntervalSeconds: 1, handler: settleAttemptHandler },
  'processor-event-sweep': { loops: 1, batchSize: 1, pollingIntervalSeconds: 2, handler: processorEventSweepHandler },
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
  for (const name of Object.keys(WORKING) as QueueName[]) {
    const { loops, batchSize, pollingIntervalSeconds, handler } = WORKING[name];
    for (let loop = 0; loop < loops; loop++) {
      await boss.work(name, { batchSize, pollingIntervalSeconds }, eachJobOnItsOwn(boss, name, handler(deps) as JobHandler<typeof name>));
    }
  }
}

/**
 * Runs a fetched batch's jobs side by side, each on its own: a job that throws is failed alone (and
 * retried by its queue's policy); pg-boss then completes only the jobs still active, the others.
 */
function eachJobOnItsOwn<N extends QueueName>(boss: PgBoss, name: N, handle: JobHandler<N>) {
  return async (jobs: PgBoss.Job<QueuePayloads[N]>[]): Promise<void> => {
    const results = await Promise.allSettled(jobs.map((job) => handle(job)));
    await Promise.all(
      results.map((result, index) =>
        result.status === 'rejected' ? boss.fail(name, jobs[index]!.id, { message: errorMessage(result.reason) }) : undefined,
      ),
    );
  };
}

const errorMessage = (reason: unknown): string => (reason instanceof Error ? reason.message : String(reason));
