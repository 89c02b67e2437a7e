import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { JobQueue } from '../../src/domain/jobs/queues.js';
import { releaseParkedEvents } from '../../src/domain/processor-events/release-parked-events.js';
import { sweepProcessorEvents } from '../../src/domain/processor-events/sweep-events.js';
import { connectTo, createTestDatabase, type TestDatabase } from '../support/database.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

// The table is empty, so no job is ever enqueued: only the statements that look for work run.
const noJobs: JobQueue = {
  enqueue: () => Promise.reject(new Error('nothing should be enqueued on an empty table')),
};

/** The statements `work` sends that read processor_events, exactly as sent. */
async function statementsOf(work: (db: TestDatabase['db']) => Promise<unknown>): Promise<string[]> {
  const statements: string[] = [];
  const counting = connectTo(database.url, { max: 1, onQuery: (query) => statements.push(query) });
  try {
    await work(counting.db);
  } finally {
    await counting.close();
  }
  return statements.filter((statement) => /processor_events/.test(statement));
}

/** The plan Postgres would reuse for every parameter value (prepared statements get it after five runs). */
async function genericPlan(statement: string): Promise<string> {
  return database.db.transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL enable_seqscan = off`);
    const rows = await tx.execute<{ 'QUERY PLAN': string }>(sql.raw(`EXPLAIN (GENERIC_PLAN) ${statement}`));
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  });
}

it("the sweeper finds its work through the partial indexes of the rows waiting, whatever the history", async () => {
  const statements = await statementsOf((db) => sweepProcessorEvents({ db, jobs: noJobs, config: loadConfig({}) }));
  expect(statements).toHaveLength(2);
  const [unapplied, overdue] = await Promise.all(statements.map(genericPlan));
  expect(unapplied).toContain('processor_events_unapplied_idx');
  expect(overdue).toContain('processor_events_replay_due_idx');
  for (const plan of [unapplied, overdue]) expect(plan).not.toMatch(/Seq Scan on processor_events/);
});

it('the release on a new invoice finds its parked events through their partial index', async () => {
  const statements = await statementsOf((db) => db.transaction((tx) => releaseParkedEvents(tx, noJobs, 'pi_nobody')));
  const updates = statements.filter((statement) => /^\s*update/i.test(statement));
  expect(updates).toHaveLength(1);
  const plan = await genericPlan(updates[0]!);
  expect(plan).toContain('processor_events_parked_intent_idx');
  expect(plan).not.toMatch(/Seq Scan on processor_events/);
});
