import { randomUUID } from 'node:crypto';
import { and, count, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, invoices, processorEvents } from '../../src/db/schema/index.js';
import { recordProcessorEvent } from '../../src/domain/processor-events/record-processor-event.js';
import { scheduleReplays } from '../../src/domain/processor-events/schedule-replays.js';
import { stripeEventEnvelope, toIncomingEvent } from '../../src/domain/processor-events/stripe-event.js';
import { makeInvoice, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, newPayment, stripeEvent } from '../support/stripe-events.js';

const EVENTS = 150;
let service: TestService;

beforeAll(async () => {
  service = await startTestService();
});
afterAll(() => service.close());

describe('the replay worker, a batch at a time', () => {
  it(`applies ${EVENTS} owed replays each once while a job of the same batch fails alone`, { timeout: 120_000 }, async () => {
    const { db, jobs } = service.deps;
    const workspace = await makeWorkspace(db);
    const expected = new Map<string, number>();
    const eventIds: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const invoiceId = randomUUID();
      const amount = 1_000 + i;
      await makeInvoice(db, workspace.id, { id: invoiceId, amountDue: amount });
      const stored = await recordProcessorEvent(db, toIncomingEvent(stripeEventEnvelope.parse(stripeEvent('charge.captured', charge(newPayment(invoiceId, amount), amount)))));
      if (!stored.inserted) throw new Error('not stored');
      expected.set(invoiceId, amount);
      eventIds.push(stored.eventId);
    }
    // All owed in one transaction, with a job whose event is gone (its processEvent throws NOT_FOUND):
    // the worker's first fetch takes it in one batch with the others.
    const gone = randomUUID();
    await db.transaction(async (tx) => {
      await scheduleReplays(tx, jobs, inArray(processorEvents.id, eventIds), 'operator');
      await jobs.enqueue(tx, 'processor-event-replay', { processorEventId: gone, reason: 'operator' }, { singletonKey: gone });
    });

    const applied = async () =>
      (await db.select({ n: count() }).from(processorEvents).where(and(inArray(processorEvents.id, eventIds), eq(processorEvents.replayRequested, false))))[0]!.n;
    await expect.poll(applied, { timeout: 90_000, interval: 100 }).toBe(EVENTS);
    const goneJob = async () =>
      (await db.execute<{ state: string; message: string | null }>(sql`SELECT state, output->>'message' AS message FROM pgboss.job WHERE singleton_key = ${gone}`))[0];
    await expect.poll(async () => (await goneJob())?.state, { timeout: 10_000, interval: 100 }).toBe('retry');
    expect((await goneJob())!.message).toContain(`Processor event ${gone} not found`);

    const rows = await db.select().from(processorEvents).where(inArray(processorEvents.id, eventIds));
    for (const event of rows) expect(event).toMatchObject({ outcome: 'PROCESSED', replayAttempts: 1, replayDueAt: null, lastReplayError: null });
    const lines = await db
      .select({ invoiceId: invoiceAdjustments.invoiceId, n: count(), total: sql<string>`sum(${invoiceAdjustments.amount})` })
      .from(invoiceAdjustments)
      .where(inArray(invoiceAdjustments.invoiceId, [...expected.keys()]))
      .groupBy(invoiceAdjustments.invoiceId);
    expect(lines).toHaveLength(EVENTS);
    for (const line of lines) expect({ n: line.n, total: Number(line.total) }).toEqual({ n: 1, total: expected.get(line.invoiceId) });
    const captured = await db.select({ id: invoices.id, amountCaptured: invoices.amountCaptured }).from(invoices).where(inArray(invoices.id, [...expected.keys()]));
    for (const invoice of captured) expect(invoice.amountCaptured).toBe(expected.get(invoice.id));
    const replayJobs = await db.execute<{ state: string; n: number }>(
      sql`SELECT state, count(*)::int AS n FROM pgboss.job WHERE name = 'processor-event-replay' AND singleton_key IN (${sql.join(eventIds.map((id) => sql`${id}`), sql`, `)}) GROUP BY state`,
    );
    expect([...replayJobs]).toEqual([{ state: 'completed', n: EVENTS }]);
    await expectLedgerConsistent(db);
  });
});
