import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoices, processorEvents } from '../../src/db/schema/index.js';
import { recordProcessorEvent } from '../../src/domain/processor-events/record-processor-event.js';
import { stripeEventEnvelope, toIncomingEvent } from '../../src/domain/processor-events/stripe-event.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';
import { spawnWorker, stopWorker } from '../support/worker-process.js';

let service: TestService;
let operator: string;

beforeAll(async () => {
  // The API only: the sweeper runs in the worker process the test starts, as after a crash.
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET }, 'api');
  operator = await makeOperatorToken(service.deps.db);
});
afterAll(() => service.close());

const eventRow = async (id: string) => (await service.deps.db.select().from(processorEvents).where(eq(processorEvents.id, id)))[0]!;
const capturedOn = async (invoiceId: string) => (await service.deps.db.select().from(invoices).where(eq(invoices.id, invoiceId)))[0]!.amountCaptured;
const replayJobsFor = async (eventId: string) =>
  Number((await service.deps.db.execute(sql`SELECT count(*) AS n FROM pgboss.job WHERE name = 'processor-event-replay' AND singleton_key = ${eventId}`))[0]!.n);

async function parkedEvent(invoiceId: string, amount: number): Promise<string> {
  const event = stripeEvent('charge.captured', charge(newPayment(invoiceId, amount), amount));
  expect((await deliverEvent(service.url, event)).body).toEqual({ status: 'queued' });
  return (await service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, event.id)))[0]!.id;
}

describe('the sweeper, as a worker starts', () => {
  it('applies an event a crash left RECEIVED and an accepted replay whose job was lost, and leaves the rest alone', async () => {
    const workspace = await makeWorkspace(service.deps.db);

    // Stored, then the process died before applying it: the webhook was never answered.
    const crashedInvoice = randomUUID();
    await makeInvoice(service.deps.db, workspace.id, { id: crashedInvoice, amountDue: 2_500 });
    const recorded = await recordProcessorEvent(
      service.deps.db,
      toIncomingEvent(stripeEventEnvelope.parse(stripeEvent('charge.captured', charge(newPayment(crashedInvoice, 2_500), 2_500)))),
    );
    if (!recorded.inserted) throw new Error('the crashed event was not stored');
    const crashed = recorded.eventId;
    await service.deps.db.execute(sql`UPDATE processor_events SET received_at = now() - interval '5 minutes' WHERE id = ${crashed}`);

    // Stored just now: a live delivery may still be applying it.
    const recentInvoice = randomUUID();
    const recent = await recordProcessorEvent(
      service.deps.db,
      toIncomingEvent(stripeEventEnvelope.parse(stripeEvent('charge.captured', charge(newPayment(recentInvoice, 900), 900)))),
    );
    if (!recent.inserted) throw new Error('the recent event was not stored');

    // Accepted for replay (202), then its job vanished, an hour ago.
    const lostInvoice = randomUUID();
    const lost = await parkedEvent(lostInvoice, 4_200);
    await makeInvoice(service.deps.db, workspace.id, { id: lostInvoice, amountDue: 4_200 });
    const accepted = await fetch(`${service.url}/api/v1/billing/replays/${lost}/trigger`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(accepted.status).toBe(202);
    expect(await replayJobsFor(lost)).toBe(1);
    await service.deps.db.execute(sql`DELETE FROM pgboss.job WHERE name = 'processor-event-replay' AND singleton_key = ${lost}`);
    await service.deps.db.execute(sql`UPDATE processor_events SET replay_due_at = now() - interval '1 hour' WHERE id = ${lost}`);

    // Parked for want of an invoice, no replay asked for: it waits for an operator, not for the sweeper.
    const parked = await parkedEvent(randomUUID(), 1_300);
    await service.deps.db.execute(sql`UPDATE processor_events SET received_at = now() - interval '1 hour' WHERE id = ${parked}`);

    const worker = spawnWorker(service.database.url);
    try {
      await expect
        .poll(async () => [(await eventRow(crashed)).outcome, (await eventRow(lost)).outcome], { timeout: 30_000, interval: 200 })
        .toEqual(['PROCESSED', 'PROCESSED']);
    } finally {
      await stopWorker(worker);
    }

    expect(await eventRow(crashed)).toMatchObject({ replayRequested: false, replayDueAt: null, replayAttempts: 0 });
    expect(await eventRow(lost)).toMatchObject({ replayRequested: false, replayDueAt: null });
    expect(await capturedOn(crashedInvoice)).toBe(2_500);
    expect(await capturedOn(lostInvoice)).toBe(4_200);

    // Both lists were swept in one pass, before the second event was applied: these were passed over.
    expect(await eventRow(parked)).toMatchObject({ outcome: 'FAILED', replayRequested: true, replayDueAt: null, replayAttempts: 0, lastReplayedAt: null });
    expect(await replayJobsFor(parked)).toBe(0);
    expect(await eventRow(recent.eventId)).toMatchObject({ outcome: 'RECEIVED', replayDueAt: null });
    expect(await replayJobsFor(recent.eventId)).toBe(0);
    await expectLedgerConsistent(service.deps.db);
  });
});
