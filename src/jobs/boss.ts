import { sql, type SQL } from 'drizzle-orm';
import PgBoss from 'pg-boss';
import type { Config } from '../config.js';
import type { DbOrTx } from '../db/client.js';
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
  const boss = new PgBoss({
    connectionString,
    schema: 'pgboss',
    max: 4,
    application_name: 'billing-ledger-jobs',
    supervise: role.supervise,
    schedule: role.schedule,
    // Expired jobs (a dead worker's) are only retried when maintenance runs.
    maintenanceIntervalSeconds: config.jobMaintenanceIntervalSeconds,
  });
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
  return boss;
}

const stopping = new WeakSet<PgBoss>();

/** Stops workers gracefully (running jobs finish, for 10 s at most), then pg-boss's pool. */
export async function stopBoss(boss: PgBoss): Promise<void> {
  stopping.add(boss);
  await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
}

/** Turns pg-boss's `$1…$n` statement into Drizzle SQL, so it runs on the caller's connection. */
function toDrizzleSql(text: string, values: unknown[]): SQL {
  const chunks: SQL[] = [];
  let last = 0;
  for (const match of text.matchAll(/\$(\d+)/g)) {
    chunks.push(sql.raw(text.slice(last, match.index)));
    chunks.push(sql`${toParameter(values[Number(match[1]) - 1])}`);
    last = match.index + match[0].length;
  }
  chunks.push(sql.raw(text.slice(last)));
  return sql.join(chunks);
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
        executeSql: async (text: string, values: unknown[]) => ({ rows: [...(await tx.execute(toDrizzleSql(text, values)))] }),
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
