import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type PgBoss from 'pg-boss';
import { afterAll, describe, expect, it } from 'vitest';
import type { QueueName } from '../../src/domain/jobs/queues.js';
import { workInBatches, workInGroups, type BatchOptions, type GroupHandler, type JobHandler } from '../../src/jobs/batch.js';
import { startBoss, stopBoss } from '../../src/jobs/boss.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * The batch loop on a real pg-boss, with handlers of the test's own: each test works its own queue of a
 * fresh database (its policies as the service sets them), so loops never meet. The replay handler in a
 * batch is tested end to end in replay-batch.test.ts.
 */
const logger = createLogger('silent');
// A replay job expires after 4 s here, so that the start deadline (half of it) comes within a test.
const EXPIRE_SECONDS = 4;
const databases: TestDatabase[] = [];
const bosses: PgBoss[] = [];

async function freshBoss(): Promise<{ boss: PgBoss; db: TestDatabase }> {
  const db = await createTestDatabase();
  databases.push(db);
  const boss = await startBoss(db.url, logger, { supervise: false, schedule: false }, { replayJobExpireSeconds: EXPIRE_SECONDS, jobMaintenanceIntervalSeconds: 3600 });
  bosses.push(boss);
  return { boss, db };
}

afterAll(async () => {
  for (const boss of bosses) await stopBoss(boss);
  for (const db of databases) await db.drop();
});

const QUEUE: QueueName = 'processor-event-replay';
const payload = () => ({ processorEventId: randomUUID(), reason: 'operator' as const });

async function sendJobs(boss: PgBoss, n: number): Promise<string[]> {
  const ids: string[] = [];
  // The replay queue's policy (`short`) keeps one queued job per singleton key, as the service's replay jobs have.
  for (let i = 0; i < n; i++) {
    const data = payload();
    ids.push((await boss.send(QUEUE, data, { singletonKey: data.processorEventId }))!);
  }
  return ids;
}

async function jobStates(db: TestDatabase, ids: string[]): Promise<Map<string, { state: string; message: string | null }>> {
  const rows = await db.db.execute<{ id: string; state: string; message: string | null }>(
    sql`SELECT id, state, output->>'message' AS message FROM pgboss.job WHERE id IN (${sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `)})`,
  );
  return new Map(rows.map((row) => [row.id, { state: row.state, message: row.message }]));
}

const options = (overrides: Partial<BatchOptions>): BatchOptions => ({ batchSize: 10, pollingIntervalSeconds: 0.5, concurrency: 4, ...overrides });

describe('a batch worker loop', () => {
  it('fetches again at once after a full batch, without waiting its polling interval', { timeout: 30_000 }, async () => {
    const { boss } = await freshBoss();
    const ids = await sendJobs(boss, 23);
    const handled: string[] = [];
    // Without the notification, five batches of five would take four 20-second intervals.
    await workInBatches(boss, QUEUE, options({ batchSize: 5, pollingIntervalSeconds: 20 }), async (job) => void handled.push(job.id), logger);
    await expect.poll(() => handled.length, { timeout: 10_000, interval: 50 }).toBe(23);
    expect(new Set(handled)).toEqual(new Set(ids));
  });

  it('runs at most `concurrency` jobs of a batch at once', { timeout: 30_000 }, async () => {
    const { boss } = await freshBoss();
    await sendJobs(boss, 12);
    let running = 0;
    let most = 0;
    let done = 0;
    const handle: JobHandler<typeof QUEUE> = async () => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running--;
      done++;
    };
    await workInBatches(boss, QUEUE, options({ batchSize: 12, concurrency: 3 }), handle, logger);
    await expect.poll(() => done, { timeout: 10_000, interval: 50 }).toBe(12);
    expect(most).toBe(3);
  });

  it('fails a job that throws alone, with its error, and completes the others; the failed one is retried', { timeout: 60_000 }, async () => {
    const { boss, db } = await freshBoss();
    const ids = await sendJobs(boss, 10);
    const bad = ids[3]!;
    const runs = new Map<string, number>();
    const handle: JobHandler<typeof QUEUE> = async (job) => {
      const run = (runs.get(job.id) ?? 0) + 1;
      runs.set(job.id, run);
      if (job.id === bad && run === 1) throw new Error('the database said no');
    };
    await workInBatches(boss, QUEUE, options({ batchSize: 10 }), handle, logger);
    await expect.poll(() => runs.size, { timeout: 10_000, interval: 50 }).toBe(10);
    await expect.poll(async () => (await jobStates(db, [bad])).get(bad)?.state, { timeout: 10_000, interval: 50 }).toBe('retry');
    const states = await jobStates(db, ids);
    expect(states.get(bad)).toEqual({ state: 'retry', message: 'the database said no' });
    for (const id of ids.filter((id) => id !== bad)) expect(states.get(id)?.state).toBe('completed');
    // The queue's backoff (5–10 s), then the second run succeeds.
    await expect.poll(async () => (await jobStates(db, [bad])).get(bad)?.state, { timeout: 40_000, interval: 250 }).toBe('completed');
    expect([...runs.values()].sort()).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
  });

  it('hands a group handler its jobs a group at a time, and reports each job as the handler says: its own error fails it alone, a throw its group', { timeout: 30_000 }, async () => {
    const { boss, db } = await freshBoss();
    const ids = await sendJobs(boss, 7);
    const groups: string[][] = [];
    // The first group to run throws; in every other group the first job fails on its own.
    const handle: GroupHandler<typeof QUEUE> = async (jobs) => {
      if (groups.push(jobs.map((job) => job.id)) === 1) throw new Error('the group said no');
      return jobs.map((_job, index) => (index === 0 ? new Error('this one said no') : null));
    };
    await workInGroups(boss, QUEUE, options({ batchSize: 7, concurrency: 2, groupSize: 3 }), handle, logger);
    await expect.poll(async () => [...(await jobStates(db, ids)).values()].filter((job) => job.state !== 'active' && job.state !== 'created').length, { timeout: 10_000, interval: 50 }).toBe(7);
    expect(groups.map((group) => group.length).sort()).toEqual([1, 3, 3]);
    expect(new Set(groups.flat())).toEqual(new Set(ids));
    const states = await jobStates(db, ids);
    const [thrown, ...others] = groups;
    for (const id of thrown!) expect(states.get(id)).toEqual({ state: 'retry', message: 'the group said no' });
    for (const [first, ...rest] of others) {
      expect(states.get(first!)).toEqual({ state: 'retry', message: 'this one said no' });
      for (const id of rest) expect(states.get(id)?.state).toBe('completed');
    }
  });

  it('leaves a failure whose report was lost to pg-boss to fail, never to complete', { timeout: 30_000 }, async () => {
    const { boss, db } = await freshBoss();
    const ids = await sendJobs(boss, 4);
    const bad = ids[1]!;
    // The loop's own report of the failure does not reach the database; pg-boss itself still does.
    const lossy = new Proxy(boss, {
      get(target, property) {
        if (property === 'fail') return async () => Promise.reject(new Error('connection ended'));
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const handle: JobHandler<typeof QUEUE> = async (job) => {
      if (job.id === bad) throw new Error('the database said no');
    };
    await workInBatches(lossy, QUEUE, options({ batchSize: 4 }), handle, logger);
    await expect.poll(async () => [...(await jobStates(db, ids)).values()].filter((job) => job.state !== 'active' && job.state !== 'created').length, { timeout: 10_000, interval: 50 }).toBe(4);
    const states = await jobStates(db, ids);
    expect(states.get(bad)?.state).toBe('retry');
    for (const id of ids.filter((id) => id !== bad)) expect(states.get(id)?.state).toBe('completed');
  });

  it('starts no job after its share of the expiry: those left are failed for a retry, not run', { timeout: 30_000 }, async () => {
    const { boss, db } = await freshBoss();
    const ids = await sendJobs(boss, 5);
    const started: string[] = [];
    const handle: JobHandler<typeof QUEUE> = async (job) => {
      started.push(job.id);
      await new Promise((resolve) => setTimeout(resolve, 900));
    };
    // Expiry 4 s, so nothing starts after 2 s: jobs start at about 0, 0.9 and 1.8 s, one at a time.
    await workInBatches(boss, QUEUE, options({ batchSize: 5, concurrency: 1, startWithinShareOfExpiry: 0.5 }), handle, logger);
    await expect.poll(async () => [...(await jobStates(db, ids)).values()].filter((job) => job.state !== 'active').length, { timeout: 15_000, interval: 100 }).toBe(5);
    const states = await jobStates(db, ids);
    const notStarted = ids.filter((id) => !started.includes(id));
    expect(started.length).toBeGreaterThanOrEqual(1);
    expect(notStarted.length).toBeGreaterThanOrEqual(1);
    expect(new Set(started).size).toBe(started.length);
    for (const id of started) expect(states.get(id)?.state).toBe('completed');
    for (const id of notStarted) {
      expect(states.get(id)?.state).toBe('retry');
      expect(states.get(id)?.message).toMatch(/^not started: its batch of 5 ran past 0.5 of the job expiry \(4 s\)/);
    }
  });
});
