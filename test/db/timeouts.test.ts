import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { paymentAttempts } from '../../src/db/schema/index.js';
import { holdInvoiceLock } from '../support/row-lock.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { startTestService, type TestService } from '../support/service.js';

let service: TestService;

beforeAll(async () => {
  service = await startTestService({ DB_STATEMENT_TIMEOUT_MS: '1500', DB_LOCK_TIMEOUT_MS: '200', BILLING_ROLLOUT_STAGE: 'GENERAL' });
});
afterAll(() => service.close());

it('every connection of the pool carries the configured statement and lock timeouts, in transactions too', async () => {
  const [settings] = (await service.deps.db.execute(sql`SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock`)) as unknown as {
    statement: string;
    lock: string;
  }[];
  expect(settings).toEqual({ statement: '1500ms', lock: '200ms' });
  await service.deps.db.transaction(async (tx) => {
    const [inside] = (await tx.execute(sql`SELECT current_setting('lock_timeout') AS lock`)) as unknown as { lock: string }[];
    expect(inside!.lock).toBe('200ms');
  });
  // Postgres cancels a statement that runs past it (query_canceled).
  await expect(service.deps.db.execute(sql`SELECT pg_sleep(5)`)).rejects.toMatchObject({ cause: { code: '57014' } });
});

it('a capture that would wait on a held row lock gives up instead of hanging, and records nothing', async () => {
  const token = await makeOperatorToken(service.deps.db);
  const invoice = await makeInvoice(service.deps.db, (await makeWorkspace(service.deps.db)).id, { amountDue: 1_000 });
  const lock = await holdInvoiceLock(service.database, invoice.id);
  try {
    const response = await fetch(`${service.url}/api/v1/billing/invoices/${invoice.id}/capture`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 100 }),
    });
    // Answered while the lock is still held: the request did not wait for it.
    expect(response.status).toBeGreaterThanOrEqual(500);
  } finally {
    await lock.release();
  }
  expect(await service.deps.db.select().from(paymentAttempts).where(eq(paymentAttempts.invoiceId, invoice.id))).toEqual([]);
});
