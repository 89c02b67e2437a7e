import { count } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { invoices, invoiceTimelineEvents, workspaces } from '../../src/db/schema/index.js';
import { currencyExponent } from '../../src/domain/ledger/money.js';
import { isDatabaseEmpty, seedDemoData } from '../../src/domain/seed/demo-seed.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

async function rowCounts() {
  const { db } = database;
  const [[w], [i], [t]] = await Promise.all([
    db.select({ n: count() }).from(workspaces),
    db.select({ n: count() }).from(invoices),
    db.select({ n: count() }).from(invoiceTimelineEvents),
  ]);
  return { workspaces: w!.n, invoices: i!.n, timelineEvents: t!.n };
}

it('seeds an empty database once; a second run writes nothing', async () => {
  expect(await isDatabaseEmpty(database.db)).toBe(true);

  const first = await seedDemoData(database.db);
  const afterFirst = await rowCounts();
  expect(first.workspaces).toBe(2);
  expect(first.invoices).toBeGreaterThanOrEqual(4);
  expect(afterFirst).toEqual({ workspaces: 2, invoices: first.invoices, timelineEvents: first.invoices });
  expect(await isDatabaseEmpty(database.db)).toBe(false);

  expect(await seedDemoData(database.db)).toEqual({ workspaces: 0, invoices: 0 });
  expect(await rowCounts()).toEqual(afterFirst);
});

// Seeding is idempotent, so each test below can seed for itself whatever ran before it.
it('has one pilot workspace and one outside the pilot, each with invoices', async () => {
  await seedDemoData(database.db);
  const rows = await database.db.select({ id: workspaces.id, billingPilot: workspaces.billingPilot }).from(workspaces);
  expect(rows.map((row) => row.billingPilot).sort()).toEqual([false, true]);
  const owners = new Set((await database.db.select({ workspaceId: invoices.workspaceId }).from(invoices)).map((row) => row.workspaceId));
  expect([...owners].sort()).toEqual(rows.map((row) => row.id).sort());
});

it('covers zero-, two- and three-decimal currencies (JPY, KWD)', async () => {
  await seedDemoData(database.db);
  const currencies = new Set((await database.db.select({ currency: invoices.currency }).from(invoices)).map((row) => row.currency));
  expect(currencies).toContain('JPY');
  expect(currencies).toContain('KWD');
  expect(new Set([...currencies].map(currencyExponent))).toEqual(new Set([0, 2, 3]));
});
