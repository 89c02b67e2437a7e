import type PgBoss from 'pg-boss';
import type { QueueName, QueuePayloads } from '../domain/jobs/queues.js';
import type { Logger } from '../logger.js';

export type JobHandler<N extends QueueName> = (job: PgBoss.Job<QueuePayloads[N]>) => Promise<void>;

/**
 * Several jobs handled together, each with its own outcome, in their order: null when it succeeded,
 * its error when it failed. A throw fails every job of the group with that error.
 */
export type GroupHandler<N extends QueueName> = (jobs: PgBoss.Job<QueuePayloads[N]>[]) => Promise<(Error | null)[]>;

export type BatchOptions = {
  batchSize: number;
  /** How long an idle loop waits before it asks again; a loop whose batch came back full asks again at once. */
  pollingIntervalSeconds: number;
  /** Jobs (or groups of jobs) of the batch running at once, on the service's pool. */
  concurrency: number;
  /** Jobs a group handler is given at once (workInGroups); 1 for a job handler. */
  groupSize?: number;
  /**
   * Share of the batch's shortest job expiry after which no job of the batch is started any more: those
   * left are failed (retried with backoff), so that a slow batch never outlives the expiry of the jobs it
   * holds, which pg-boss would then fail all at once, finished ones included.
   */
  startWithinShareOfExpiry?: number;
};

/**
 * One pg-boss worker loop on `name`: fetches up to `batchSize` jobs at a time, runs them as
 * `eachJobOnItsOwn` says, and when the batch was full fetches again at once. pg-boss 10 waits its
 * polling interval after every fetch, even a full one, unless the worker is notified (`notifyWorker`,
 * whose flag pg-boss clears before each fetch): so a backlog drains at the speed of its jobs, and an
 * idle queue costs one fetch per interval. Several loops and processes share a queue through pg-boss's
 * `FOR UPDATE SKIP LOCKED` fetch: no job is handed to two of them while it is active.
 */
export function workInBatches<N extends QueueName>(boss: PgBoss, name: N, options: BatchOptions, handle: JobHandler<N>, logger: Logger): Promise<string> {
  return workInGroups(boss, name, { ...options, groupSize: 1 }, oneAtATime(handle), logger);
}

/** As workInBatches, with the batch's jobs handed `groupSize` at a time to one handler that reports each job's outcome. */
export async function workInGroups<N extends QueueName>(boss: PgBoss, name: N, options: BatchOptions, handle: GroupHandler<N>, logger: Logger): Promise<string> {
  const { batchSize, pollingIntervalSeconds } = options;
  const runBatch = eachJobOnItsOwn(boss, name, handle, logger, options);
  let workerId: string | undefined = undefined;
  workerId = await boss.work<QueuePayloads[N]>(name, { batchSize, pollingIntervalSeconds }, async (jobs) => {
    await runBatch(jobs);
    if (jobs.length === batchSize && workerId) boss.notifyWorker(workerId);
  });
  return workerId;
}

const oneAtATime =
  <N extends QueueName>(handle: JobHandler<N>): GroupHandler<N> =>
  async ([job]) => {
    await handle(job!);
    return [null];
  };

/**
 * One fetched batch, each job on its own: at most `concurrency` groups of `groupSize` at a time, and each job's outcome
 * reported by its id — the finished ones completed together, each failed one failed alone with its
 * error (pg-boss retries it by its queue's policy: retry limit, backoff). Failures are reported last,
 * once no job of the batch is running: a failed job is back in the queue at once (its retry is due after
 * the backoff), and pg-boss's own completion of the batch after this returns touches only jobs still
 * `active`, which by then none is. So one bad job neither fails nor delays the others' reports.
 */
function eachJobOnItsOwn<N extends QueueName>(
  boss: PgBoss,
  name: N,
  handle: GroupHandler<N>,
  logger: Logger,
  options: Pick<BatchOptions, 'concurrency' | 'groupSize' | 'startWithinShareOfExpiry'>,
): (jobs: PgBoss.Job<QueuePayloads[N]>[]) => Promise<void> {
  return async (jobs) => {
    const started = Date.now();
    const expirySeconds = Math.min(...jobs.map((job) => job.expireInSeconds));
    const startBy = options.startWithinShareOfExpiry === undefined ? Infinity : started + expirySeconds * 1000 * options.startWithinShareOfExpiry;
    const succeeded: string[] = [];
    const failed: { id: string; message: string }[] = [];
    const groupSize = options.groupSize ?? 1;
    let next = 0;
    const lane = async () => {
      while (next < jobs.length) {
        const group = jobs.slice(next, next + groupSize);
        next += group.length;
        if (Date.now() > startBy) {
          const message = `not started: its batch of ${jobs.length} ran past ${options.startWithinShareOfExpiry} of the job expiry (${expirySeconds} s)`;
          for (const job of group) failed.push({ id: job.id, message });
          continue;
        }
        const outcomes = await handle(group).catch((error: unknown) => group.map(() => error));
        for (const [index, job] of group.entries()) {
          const outcome = outcomes[index];
          if (outcome === null) succeeded.push(job.id);
          else failed.push({ id: job.id, message: errorMessage(outcome) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, Math.ceil(jobs.length / groupSize)) }, lane));
    const reports: Promise<unknown>[] = [];
    if (succeeded.length > 0) reports.push(boss.complete(name, succeeded));
    for (const { id, message } of failed) reports.push(boss.fail(name, id, { message }));
    const lost = (await Promise.allSettled(reports)).filter((report) => report.status === 'rejected');
    // A report that did not reach the database (it is gone, say) leaves its jobs active. Then throw:
    // pg-boss fails the batch's jobs still active (never a completed one), so a failure whose report was
    // lost is retried rather than completed by pg-boss's completion of the batch; a finished job failed
    // that way runs again and finds nothing left to do. If that fails too, the jobs expire and are retried.
    if (lost.length > 0) {
      for (const report of lost) logger.error({ err: (report as PromiseRejectedResult).reason, queue: name }, 'a job outcome could not be reported');
      throw new Error(`${lost.length} of ${reports.length} job reports of a batch on ${name} did not reach the database`);
    }
  };
}

const errorMessage = (reason: unknown): string => (reason instanceof Error ? reason.message : String(reason));
