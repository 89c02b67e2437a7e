import { createRequire } from 'node:module';
import { sql } from 'drizzle-orm';
import type PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/domain/jobs/queues.js';
import { startBoss, stopBoss } from '../../src/jobs/boss.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** pg-boss's own fetch, as its workers send it (plans.fetchNextJob). */
const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as { fetchNextJob(schema: string): (options: object) => string };
const FETCH = plans.fetchNextJob('pgboss')({ includeMetadata: false });

type PlanNode = { 'Node Type': string; 'Index Name'?: string; Plans?: PlanNode[] };
const find = (node: PlanNode, match: (node: PlanNode) => boolean): PlanNode | undefined =>
  match(node) ? node : (node.Plans ?? []).map((child) => find(child, match)).find(Boolean);

/** The fetch-order index's own name on `queue`'s partition. */
async function partitionIndexOf(queue: string): Promise<string> {
  const [row] = await db.db.execute<{ name: string }>(sql`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_index x ON x.indexrelid = i.inhrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pgboss.queue q ON q.name = ${queue} AND t.relname = q.partition_name
    WHERE i.inhparent = 'pgboss.job_fetch_order_idx'::regclass`);
  return row!.name;
}

let db: TestDatabase;
let boss: PgBoss;

beforeAll(async () => {
  db = await createTestDatabase();
  boss = await startBoss(db.url, createLogger('silent'), { supervise: false, schedule: false }, { replayJobExpireSeconds: 60, jobMaintenanceIntervalSeconds: 3600 });
});
afterAll(async () => {
  await stopBoss(boss);
  await db.drop();
});

describe('the fetch-order index on pg-boss jobs', () => {
  it("is on every queue's partition", async () => {
    const rows = await db.db.execute<{ queue: string }>(sql`
      SELECT q.name AS queue FROM pgboss.queue q
      JOIN pg_inherits i ON i.inhrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgboss' AND c.relname = q.partition_name)
      JOIN pg_index x ON x.indrelid = i.inhrelid
      JOIN pg_inherits parent ON parent.inhrelid = x.indexrelid AND parent.inhparent = 'pgboss.job_fetch_order_idx'::regclass`);
    expect(rows.map((row) => row.queue).sort()).toEqual([...QUEUE_NAMES].sort());
  });

  it("is what pg-boss's own fetch walks from a burst's first fetch, before the queue has statistics", async () => {
    await db.db.execute(sql`INSERT INTO pgboss.job (name, data) SELECT 'capture-notification', '{}'::jsonb FROM generate_series(1, 5000)`);
    // Planned on pg-boss's own pool, with its settings; EXPLAIN alone runs nothing.
    const { rows } = await boss.getDb().executeSql(`EXPLAIN (FORMAT JSON) ${FETCH}`, ['capture-notification', 50]);
    const lockRows = find((rows as { 'QUERY PLAN': [{ Plan: PlanNode }] }[])[0]!['QUERY PLAN'][0].Plan, (node) => node['Node Type'] === 'LockRows');
    expect(lockRows?.Plans?.map((node) => [node['Node Type'], node['Index Name']])).toEqual([['Index Scan', await partitionIndexOf('capture-notification')]]);
  });

  it('is what a fetch from a long queue walks, in order, instead of sorting the whole queue', async () => {
    await db.db.execute(sql`INSERT INTO pgboss.job (name, data, singleton_key, policy) SELECT 'processor-event-replay', '{}'::jsonb, gen_random_uuid()::text, 'short' FROM generate_series(1, 5000)`);
    await db.db.execute(sql`ANALYZE pgboss.job`);
    // EXPLAIN alone plans the statement without running it: nothing is fetched.
    const [explained] = await db.sql.unsafe<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(`EXPLAIN (FORMAT JSON) ${FETCH}`, ['processor-event-replay', 100]);
    const lockRows = find(explained!['QUERY PLAN'][0].Plan, (node) => node['Node Type'] === 'LockRows');
    expect(lockRows?.Plans?.map((node) => [node['Node Type'], node['Index Name']])).toEqual([['Index Scan', await partitionIndexOf('processor-event-replay')]]);
  });
});
