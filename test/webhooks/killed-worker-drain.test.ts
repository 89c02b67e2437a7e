import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { and, count, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, invoices, processorEvents } from '../../src/db/schema/index.js';
import { projectRoot } from '../../src/paths.js';
import { connectTo } from '../support/database.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';
import { killHard, spawnWorker, stopWorker } from '../support/worker-process.js';

const REPLAYS = 300;
// Short, so that a dead worker's jobs come back within seconds (the defaults are 60 s and 30 s).
const FAST_RECOVERY = { REPLAY_JOB_EXPIRE_SECONDS: '3', JOB_MAINTENANCE_INTERVAL_SECONDS: '1' };

let service: TestService;
let operator: string;

beforeAll(async () => {
  // The API only: the workers are child processes, the first of them killed.
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, ...FAST_RECOVERY }, 'api');
  operator = await makeOperatorToken(service.deps.db);
});
afterAll(() => service.close());

/** Events parked for want of their invoice; then the invoices are created behind the service's back (no release). */
async function parkedEvents(n: number) {
  const workspace = await makeWorkspace(service.deps.db);
  const parked: { eventId: string; invoiceId: string; amount: number }[] = [];
  for (let i = 0; i < n; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, async (_, j) => {
        const invoiceId = randomUUID();
        const amount = 1_000 + i + j;
        const event = stripeEvent('charge.captured', charge(newPayment(invoiceId, amount), amount));
        expect((await deliverEvent(service.url, event)).body).toEqual({ status: 'queued' });
        await makeInvoice(service.deps.db, workspace.id, { id: invoiceId, amountDue: amount });
        const [row] = await service.deps.db.select({ id: processorEvents.id }).from(processorEvents).where(eq(processorEvents.externalId, event.id));
        return { eventId: row!.id, invoiceId, amount };
      }),
    );
    parked.push(...batch);
  }
  return parked;
}

async function accept(eventId: string): Promise<number> {
  const response = await fetch(`${service.url}/api/v1/billing/replays/${eventId}/trigger`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
    body: '{}',
  });
  await response.body?.cancel();
  return response.status;
}

describe('a worker SIGKILLed mid-drain of accepted replays', () => {
  it(`applies all ${REPLAYS} exactly once, through the next worker`, { timeout: 180_000 }, async () => {
    const parked = await parkedEvents(REPLAYS);
    const eventIds = parked.map((event) => event.eventId);
    for (let i = 0; i < REPLAYS; i += 25) {
      const statuses = await Promise.all(eventIds.slice(i, i + 25).map(accept));
      expect(statuses.every((status) => status === 202)).toBe(true);
    }
    const applied = async () =>
      (await service.deps.db.select({ n: count() }).from(processorEvents).where(and(inArray(processorEvents.id, eventIds), eq(processorEvents.replayRequested, false))))[0]!.n;

    // A few invoices held by another session, so the worker dies with replays half-way through their transactions.
    const blocker = connectTo(service.database.url);
    const heldInvoices = parked.slice(40, 45).map((event) => event.invoiceId);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const blocking = blocker.sql.begin(async (tx) => {
      await tx`SELECT id FROM invoices WHERE id = ANY(${heldInvoices}::uuid[]) FOR UPDATE`;
      locked();
      await held;
    });
    await lockTaken;
    const waitingOnLock = async () =>
      Number(
        (await blocker.sql`SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name = 'billing-ledger'`)[0]!.n,
      );

    const first = spawnWorker(service.database.url, FAST_RECOVERY);
    await expect.poll(async () => (await waitingOnLock()) > 0 && (await applied()) >= 20, { timeout: 60_000, interval: 50 }).toBe(true);
    await killHard(first);
    // The dead worker's backends end when the lock lets them talk again; their transactions roll back.
    release();
    await blocking;
    await expect.poll(waitingOnLock, { timeout: 10_000, interval: 100 }).toBe(0);
    await blocker.close();
    const appliedByFirst = await applied();
    expect(appliedByFirst).toBeLessThan(REPLAYS);

    const second = spawnWorker(service.database.url, FAST_RECOVERY);
    try {
      await expect.poll(applied, { timeout: 60_000, interval: 250 }).toBe(REPLAYS);
    } finally {
      await stopWorker(second);
    }

    // Exactly once: one ledger line per invoice, for its amount, and every event processed.
    const lines = await service.deps.db
      .select({ invoiceId: invoiceAdjustments.invoiceId, n: count(), total: sql<string>`sum(${invoiceAdjustments.amount})` })
      .from(invoiceAdjustments)
      .where(inArray(invoiceAdjustments.invoiceId, parked.map((event) => event.invoiceId)))
      .groupBy(invoiceAdjustments.invoiceId);
    expect(lines).toHaveLength(REPLAYS);
    const expected = new Map(parked.map((event) => [event.invoiceId, event.amount]));
    for (const line of lines) expect({ n: line.n, total: Number(line.total) }).toEqual({ n: 1, total: expected.get(line.invoiceId) });
    const captured = await service.deps.db.select({ id: invoices.id, amountCaptured: invoices.amountCaptured }).from(invoices).where(inArray(invoices.id, [...expected.keys()]));
    for (const invoice of captured) expect(invoice.amountCaptured).toBe(expected.get(invoice.id));
    const events = await service.deps.db.select().from(processorEvents).where(inArray(processorEvents.id, eventIds));
    for (const event of events) {
      expect(event).toMatchObject({ outcome: 'PROCESSED', replayRequested: false, replayDueAt: null, lastReplayError: null });
      // A replay cut short by the kill rolled back, its count with it; a re-run by the sweeper is not counted.
      expect(event.replayAttempts).toBeLessThanOrEqual(1);
    }

    await expectLedgerConsistent(service.deps.db);
    // These webhooks are Stripe's, not the synthetic processor's: verify the ledger's invariants as a Stripe deployment would.
    const verify = await promisify(execFile)(process.execPath, [path.join(projectRoot(), 'dist/src/main.js'), 'ledger', 'verify'], {
      env: { PATH: process.env.PATH, DATABASE_URL: service.database.url, LOG_LEVEL: 'warn', DEMO_SEED: 'false', BILLING_GATEWAY: 'stripe', STRIPE_SECRET_KEY: 'sk_test_never_called' },
    });
    // execFile rejects on a non-zero exit: `ledger verify` exits 1 on any violation.
    expect(verify.stdout).toContain('ledger verified: every invariant holds');
  });
});
