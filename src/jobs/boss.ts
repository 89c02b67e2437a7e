import PgBoss from 'pg-boss';
import type { Config } from '../config.js';
import type { DbOrTx } from '../db/client.js';
import { executeText } from '../db/prepared.js';
import { QUEUE_NAMES, type EnqueueOptions, type JobQueue, type QueueName, type QueuePayloads } from '../domain/jobs/queues.js';
import type { Logger } from '../logger.js';

/**
 * Retries per queue: notifications back off for about an hour before they give up. A replay job whose
 * worker died expires after REPLAY_JOB_EXPIRE_SECONDS and is retried (5–10 s, then doubling: eight
 * retries span about an hour); its policy `short` keeps one queued job per singleton key (the event id,
 * which every replay job carries). `short` and `standard` only: pg-boss 10's `stately` queues can block
 * a queue's fetch for good (its issue #535). One queued sweep at a time is enough.
 */
function queuePolicies(config: JobConfig): Record<QueueName, Omit<PgBoss.Queue, 'name'>> {
  return {
    'capture-notification': { retryLimit: 12, retryDelay: 5, retryBackoff: true },
    'processor-event-replay': { policy: 'short', retryLimit: 8, retryDelay: 5, retryBackoff: true, expireInSeconds: config.replayJobExpireSeconds },
    reconciliation: { retryLimit: 0, policy: 'singleton' },
    'processor-event-sweep': { policy: 'short', retryLimit: 0, expireInSeconds: 300 },
    // A processor that does not answer is asked again, backing off from 30 s to hours; reconciliation asks after that.
    'settle-attempt': { retryLimit: 12, retryDelay: 30, retryBackoff: true, expireInSeconds: 300 },
  };
}

export type BossRole = { supervise: boolean; schedule: boolean };
type JobConfig = Pick<Config, 'replayJobExpireSeconds' | 'jobMaintenanceIntervalSeconds'>;

/**
 * pg-boss in the same Postgres, with its own pool for its own setup SQL (multi-statement SQL does
 * not run on a pooled postgres.js client). Every queue is created up front, and its policy set from
 * the code even when the queue already exists (pg-boss reads it when a job is sent).
 */
export async function startBoss(connectionString: string, logger: Logger, role: BossRole, config: JobConfig): Promise<PgBoss> {
  // pg-boss hands these to its pg Pool whole; its types leave out pg's `options` (settings sent at connect).
  const options: PgBoss.ConstructorOptions & { options: string } = {
    connectionString,
    schema: 'pgboss',
    max: 4,
    application_name: 'billing-ledger-jobs',
    // pg-boss's fetch (its only statement with an ORDER BY) sorts the whole queue unless Postgres walks
    // job_fetch_order_idx, and a partition without statistics yet (a burst into a fresh queue) gets
    // the sort. Sorts are made the planner's last resort on this pool, so the fetch walks the index from
    // a burst's first fetch; what has no other way (the fetch's window over its 100 rows) still sorts.
    options: '-c enable_sort=off',
    supervise: role.supervise,
    schedule: role.schedule,
    // Expired jobs (a dead worker's) are only retried when maintenance runs.
    maintenanceIntervalSeconds: config.jobMaintenanceIntervalSeconds,
  };
  const boss = new PgBoss(options);
  boss.on('error', (error) => {
    // pg-boss closes its pool once no job is in progress, and a worker's idle fetch may be cut short
    // then: expected while stopping, an error at any other time.
    if (stopping.has(boss)) logger.warn({ err: error }, 'pg-boss query cut short by shutdown');
    else logger.error({ err: error }, 'pg-boss error');
  });
  await boss.start();
  const policies = queuePolicies(config);
  for (const name of QUEUE_NAMES) {
    await boss.createQueue(name, { name, ...policies[name] });
    await boss.updateQueue(name, { name, policy: 'standard', ...policies[name] });
  }
  await boss.getDb().executeSql(FETCH_ORDER_INDEX, []);
  return boss;
}

/**
 * pg-boss fetches a queue's next jobs in `priority DESC, created_on, id` order, and none of its indexes
 * is in that order: every fetch read and sorted every job the queue holds, so a backlog cost more the
 * longer it was (76 ms a fetch of 100 with 20,000 queued; 0.6 ms walking this index). Made on the
 * partitioned table, so every queue's partition has it, those created later too; under an advisory
 * lock, so processes starting together do not race to make it. Made once: a big job table is locked
 * against new jobs while its index is built, at the first start with it.
 */
const FETCH_ORDER_INDEX = `
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('billing-ledger: pgboss.job fetch order index'));
CREATE INDEX IF NOT EXISTS job_fetch_order_idx ON pgboss.job (name, priority DESC, created_on, id) WHERE state < 'active';
COMMIT;`;

const stopping = new WeakSet<PgBoss>();

/** Stops workers gracefully (running jobs finish, for 10 s at most), then pg-boss's pool. */
export async function stopBoss(boss: PgBoss): Promise<void> {
  stopping.add(boss);
  await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
}

/**
 * pg-boss's `$1…$n` statement as it runs on the caller's connection: every occurrence of a parameter
 * becomes one of its own, in order (as when it went through Drizzle SQL: postgres.js then types each
 * one for its own use, e.g. the start time read both as text and as a timestamp). Renumbered once per
 * text, kept for the next call.
 */
const renumbered = new Map<string, { text: string; order: number[] }>();
function onCallersConnection(text: string, values: unknown[]): [string, unknown[]] {
  let statement = renumbered.get(text);
  if (!statement) {
    const order = [...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1]));
    let next = 0;
    statement = { text: text.replace(/\$\d+/g, () => `$${++next}`), order };
    renumbered.set(text, statement);
  }
  return [statement.text, statement.order.map((index) => toParameter(values[index - 1]))];
}

// postgres.js refuses `undefined`, and Drizzle's pass-through jsonb serializer would send objects unencoded.
function toParameter(value: unknown): unknown {
  if (value === undefined) return null;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) return JSON.stringify(value);
  return value;
}

export function createJobQueue(boss: PgBoss): JobQueue {
  return {
    async enqueue<N extends QueueName>(tx: DbOrTx, name: N, payload: QueuePayloads[N], options: EnqueueOptions = {}) {
      const db = {
        executeSql: async (text: string, values: unknown[]) => ({ rows: await executeText(tx, ...onCallersConnection(text, values)) }),
      };
      return boss.send(name, payload, {
        db,
        ...(options.singletonKey ? { singletonKey: options.singletonKey } : {}),
        // As a time, not a number of seconds: pg-boss's insert reads its start-after parameter both as
        // text and as a timestamp, and toDrizzleSql gives each reading its own, separately typed, parameter.
        ...(options.startAfterSeconds ? { startAfter: new Date(Date.now() + options.startAfterSeconds * 1000).toISOString() } : {}),
      });
    },
  };
}
