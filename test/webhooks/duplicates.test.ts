import { count, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, invoices, processorEvents } from '../../src/db/schema/index.js';
import { recordProcessorEvent } from '../../src/domain/processor-events/record-processor-event.js';
import { stripeEventEnvelope, toIncomingEvent } from '../../src/domain/processor-events/stripe-event.js';
import { makeInvoice, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliver, newPayment, sign, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

let service: TestService;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
  workspaceId = (await makeWorkspace(service.deps.db)).id;
});
afterEach(() => expectLedgerConsistent(service.deps.db));
afterAll(() => service.close());

describe('duplicate deliveries', () => {
  it('one event delivered 50 times at once, and its payload again under a new event id: one row, one change, all 2xx', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 7_000 });
    const payment = newPayment(invoice.id, 7_000);
    const event = stripeEvent('charge.captured', charge(payment, 7_000));
    const delivery = sign(event);

    const responses = await Promise.all(Array.from({ length: 50 }, () => deliver(service.url, delivery)));
    const resent = await deliver(service.url, sign({ ...event, id: 'evt_resent_' + event.id }));

    for (const response of [...responses, resent]) expect(response.status).toBe(200);
    const statuses = responses.map((response) => response.body.status);
    expect(statuses.filter((status) => status === 'processed')).toHaveLength(1);
    expect(statuses.filter((status) => status === 'duplicate')).toHaveLength(49);
    expect(resent.body).toEqual({ status: 'duplicate' });

    const rows = await service.deps.db.select().from(processorEvents).where(eq(processorEvents.invoiceId, invoice.id));
    expect(rows).toHaveLength(1);
    const [lines] = await service.deps.db.select({ n: count() }).from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, invoice.id));
    expect(lines!.n).toBe(1);
    const [row] = await service.deps.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(row!.amountCaptured).toBe(7_000);
  });

  it('a redelivery finishes an event that was stored but never applied (a crash between the two steps)', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 3_000 });
    const event = stripeEvent('charge.captured', charge(newPayment(invoice.id, 3_000), 3_000));
    // What a crash right after step 2 leaves behind: the row, committed, flagged, never applied.
    await recordProcessorEvent(service.deps.db, toIncomingEvent(stripeEventEnvelope.parse(event)));

    expect(await deliver(service.url, sign(event))).toEqual({ status: 200, body: { status: 'duplicate' } });
    const [row] = await service.deps.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(row!.amountCaptured).toBe(3_000);
    const [stored] = await service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, event.id));
    expect(stored).toMatchObject({ outcome: 'PROCESSED', replayRequested: false });
  });
});
