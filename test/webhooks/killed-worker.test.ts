import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, invoices, processorEvents } from '../../src/db/schema/index.js';
import { projectRoot } from '../../src/paths.js';
import { connectTo } from '../support/database.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

let service: TestService;
let operator: string;

beforeAll(async () => {
  // The API only: the replay worker runs in a child process that the test kills.
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET }, 'api');
  operator = await makeOperatorToken(service.deps.db);
});
afterAll(() => service.close());

describe('a replay worker killed mid-replay', () => {
  it('leaves the event unapplied and queued, and the next replay applies it exactly once', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const invoiceId = randomUUID();
    const event = stripeEvent('charge.captured', charge(newPayment(invoiceId, 4_000), 4_000));
    expect((await deliverEvent(service.url, event)).body).toEqual({ status: 'queued' });
    await makeInvoice(service.deps.db, workspace.id, { id: invoiceId, amountDue: 4_000 });
    const [stored] = await service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, event.id));

    // Hold the invoice's row lock so the worker stops half-way through its transaction.
    const blocker = connectTo(service.database.url);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const blocking = blocker.sql.begin(async (tx) => {
      await tx`SELECT id FROM invoices WHERE id = ${invoiceId} FOR UPDATE`;
      locked();
      await held;
    });
    await lockTaken;

    const accepted = await fetch(`${service.url}/api/v1/billing/replays/${stored!.id}/trigger`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(accepted.status).toBe(202);

    const worker = spawn(process.execPath, [path.join(projectRoot(), 'dist/src/main.js'), 'worker'], {
      env: { PATH: process.env.PATH, DATABASE_URL: service.database.url, PORT: '0', LOG_LEVEL: 'warn', DEMO_SEED: 'false', BILLING_GATEWAY: 'synthetic' },
      stdio: 'ignore',
    });
    const waitingOnLock = async () =>
      Number(
        (await blocker.sql`SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name = 'billing-ledger'`)[0]!.n,
      );
    await expect.poll(waitingOnLock, { timeout: 20_000, interval: 100 }).toBe(1);

    worker.kill('SIGKILL');
    await once(worker, 'exit');
    // Postgres notices the dead client when its backend next talks to it: once the lock is granted.
    // That backend then ends, and its transaction (the half-done replay) rolls back.
    release();
    await blocking;
    await expect.poll(waitingOnLock, { timeout: 10_000, interval: 100 }).toBe(0);
    await blocker.close();

    const afterKill = (await service.deps.db.select().from(processorEvents).where(eq(processorEvents.id, stored!.id)))[0]!;
    expect(afterKill).toMatchObject({ replayRequested: true, replayAttempts: 0 });
    expect((await service.deps.db.select().from(invoices).where(eq(invoices.id, invoiceId)))[0]!.amountCaptured).toBe(0);

    const forced = await fetch(`${service.url}/api/v1/billing/replays/${stored!.id}/trigger`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ force: true }),
    });
    expect(await forced.json()).toMatchObject({ outcome: 'REPLAYED', event: { replayRequested: false, replayAttempts: 1 } });
    const [lines] = await service.deps.db.select({ n: count() }).from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, invoiceId));
    expect(lines!.n).toBe(1);
    expect((await service.deps.db.select().from(invoices).where(eq(invoices.id, invoiceId)))[0]!.amountCaptured).toBe(4_000);
    await expectLedgerConsistent(service.deps.db);
  });
});
