import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, invoices, invoiceTimelineEvents, processorEvents, refunds } from '../../src/db/schema/index.js';
import { makeInvoice, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import {
  charge,
  deliverEvent,
  dispute,
  newPayment,
  newRefundId,
  paymentIntent,
  refundObject,
  stripeEvent,
  WEBHOOK_SECRET,
} from '../support/stripe-events.js';

let service: TestService;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, BILLING_ROLLOUT_STAGE: 'OFF' });
  workspaceId = (await makeWorkspace(service.deps.db, { billingPilot: false })).id;
});
afterEach(() => expectLedgerConsistent(service.deps.db));
afterAll(() => service.close());

async function freshPayment(amount = 10_000) {
  const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: amount, paymentIntentId: null });
  return newPayment(invoice.id, amount);
}
const invoiceOf = async (id: string) => (await service.deps.db.select().from(invoices).where(eq(invoices.id, id)))[0]!;
const timelineOf = async (id: string) =>
  (await service.deps.db.select().from(invoiceTimelineEvents).where(eq(invoiceTimelineEvents.invoiceId, id))).map((event) => event.type);
const eventRow = async (externalId: string) =>
  (await service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, externalId)))[0]!;

describe('Stripe events change invoices (webhooks are never blocked by the rollout stage)', () => {
  it('payment_intent.succeeded captures up to amount_received and links the processor ids', async () => {
    const payment = await freshPayment();
    const event = stripeEvent('payment_intent.succeeded', paymentIntent(payment, 10_000));
    expect(await deliverEvent(service.url, event)).toEqual({ status: 200, body: { status: 'processed' } });
    expect(await invoiceOf(payment.invoiceId)).toMatchObject({
      amountCaptured: 10_000,
      status: 'CAPTURED',
      paymentIntentId: payment.paymentIntentId,
      externalProcessorId: payment.chargeId,
    });
    expect(await timelineOf(payment.invoiceId)).toContain('CAPTURE_SUCCEEDED');
    expect(await eventRow(event.id)).toMatchObject({ invoiceId: payment.invoiceId, outcome: 'PROCESSED', replayRequested: false, processedAt: expect.any(Date) });
  });

  it('charge.captured applies the cumulative captured amount of a partial capture', async () => {
    const payment = await freshPayment();
    await deliverEvent(service.url, stripeEvent('charge.captured', charge(payment, 4_000)));
    expect((await invoiceOf(payment.invoiceId)).amountCaptured).toBe(4_000);
    await deliverEvent(service.url, stripeEvent('charge.captured', charge(payment, 6_500)));
    expect(await invoiceOf(payment.invoiceId)).toMatchObject({ amountCaptured: 6_500, status: 'PARTIALLY_CAPTURED' });
  });

  it('charge.refunded records each listed refund once, with a refund record', async () => {
    const payment = await freshPayment();
    const refundA = { id: newRefundId(), amount: 1_000, reason: 'duplicate' };
    const refundB = { id: newRefundId(), amount: 2_000 };
    await deliverEvent(service.url, stripeEvent('charge.refunded', charge(payment, 10_000, [refundA])));
    await deliverEvent(service.url, stripeEvent('charge.refunded', charge(payment, 10_000, [refundA, refundB])));
    expect(await invoiceOf(payment.invoiceId)).toMatchObject({ amountCaptured: 10_000, amountRefunded: 3_000, status: 'PARTIALLY_REFUNDED' });
    const rows = await service.deps.db.select().from(refunds).where(eq(refunds.invoiceId, payment.invoiceId));
    expect(rows.map((row) => [row.processorRefundId, row.amount, row.reason, row.source]).sort()).toEqual(
      [
        [refundA.id, 1_000, 'DUPLICATE', 'WEBHOOK'],
        [refundB.id, 2_000, 'REQUESTED_BY_CUSTOMER', 'WEBHOOK'],
      ].sort(),
    );
  });

  it.each(['refund.created', 'refund.updated', 'charge.refund.updated'])('%s records the refund by its id', async (type) => {
    const payment = await freshPayment();
    await deliverEvent(service.url, stripeEvent('charge.captured', charge(payment, 10_000)));
    const refund = { id: newRefundId(), amount: 2_500, metadata: { reason_code: 'GOODWILL' } };
    expect(await deliverEvent(service.url, stripeEvent(type, refundObject(payment, refund)))).toMatchObject({ body: { status: 'processed' } });
    expect((await invoiceOf(payment.invoiceId)).amountRefunded).toBe(2_500);
    const [row] = await service.deps.db.select().from(refunds).where(eq(refunds.processorRefundId, refund.id));
    expect(row).toMatchObject({ amount: 2_500, reason: 'GOODWILL' });
  });

  it('a refund reported pending and later failed is given back by a reversal line', async () => {
    const payment = await freshPayment();
    await deliverEvent(service.url, stripeEvent('charge.captured', charge(payment, 10_000)));
    const refund = { id: newRefundId(), amount: 2_500, status: 'pending' };
    await deliverEvent(service.url, stripeEvent('refund.created', refundObject(payment, refund)));
    expect(await invoiceOf(payment.invoiceId)).toMatchObject({ amountRefunded: 2_500, status: 'PARTIALLY_REFUNDED' });

    const failed = { ...refund, status: 'failed', failure_reason: 'expired_or_canceled_card' };
    expect(await deliverEvent(service.url, stripeEvent('charge.refund.updated', refundObject(payment, failed)))).toMatchObject({ body: { status: 'processed' } });
    expect(await deliverEvent(service.url, stripeEvent('refund.failed', refundObject(payment, failed)))).toMatchObject({ body: { status: 'processed' } });

    expect(await invoiceOf(payment.invoiceId)).toMatchObject({ amountCaptured: 10_000, amountRefunded: 0, status: 'CAPTURED' });
    const [row] = await service.deps.db.select().from(refunds).where(eq(refunds.processorRefundId, refund.id));
    expect(row!.failedAt).toBeInstanceOf(Date);
    const lines = await service.deps.db.select().from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, payment.invoiceId));
    expect(lines.map((line) => [line.kind, line.amount])).toEqual([
      ['CAPTURE', 10_000],
      ['REFUND', -2_500],
      ['REFUND_REVERSAL', 2_500],
    ]);
    expect(lines[2]!.note).toBe('processor: expired_or_canceled_card');
    expect(await timelineOf(payment.invoiceId)).toContain('REFUND_REVERSED');
  });

  it('a refund first seen failed is recorded and reversed at once, so a late "pending" delivery changes nothing', async () => {
    const payment = await freshPayment();
    await deliverEvent(service.url, stripeEvent('charge.captured', charge(payment, 10_000)));
    const refund = { id: newRefundId(), amount: 1_000 };
    await deliverEvent(service.url, stripeEvent('refund.failed', refundObject(payment, { ...refund, status: 'failed' })));
    await deliverEvent(service.url, stripeEvent('refund.created', refundObject(payment, { ...refund, status: 'pending' })));
    expect((await invoiceOf(payment.invoiceId)).amountRefunded).toBe(0);
    const [row] = await service.deps.db.select().from(refunds).where(eq(refunds.processorRefundId, refund.id));
    expect(row).toMatchObject({ amount: 1_000, failedAt: expect.any(Date) });
  });

  it.each([
    ['payment_intent.payment_failed', 'PAYMENT_FAILED'],
    ['payment_intent.canceled', 'PAYMENT_CANCELED'],
  ])('%s adds %s to the timeline and moves no money', async (type, timelineType) => {
    const payment = await freshPayment();
    const invoice = await invoiceOf(payment.invoiceId);
    await service.deps.db.update(invoices).set({ paymentIntentId: payment.paymentIntentId }).where(eq(invoices.id, invoice.id));
    const object = { ...paymentIntent(payment, 0, type.endsWith('canceled') ? 'canceled' : 'requires_payment_method'), metadata: {} };
    expect(await deliverEvent(service.url, stripeEvent(type, object))).toMatchObject({ body: { status: 'processed' } });
    expect(await timelineOf(payment.invoiceId)).toContain(timelineType);
    expect((await invoiceOf(payment.invoiceId)).amountCaptured).toBe(0);
  });

  it('charge.dispute.created adds DISPUTE_CREATED to the timeline only', async () => {
    const payment = await freshPayment();
    await deliverEvent(service.url, stripeEvent('charge.captured', charge(payment, 10_000)));
    await deliverEvent(service.url, stripeEvent('charge.dispute.created', dispute(payment, 10_000)));
    expect(await timelineOf(payment.invoiceId)).toContain('DISPUTE_CREATED');
    expect(await invoiceOf(payment.invoiceId)).toMatchObject({ amountCaptured: 10_000, amountRefunded: 0 });
  });

  it('an event type we do not act on is stored and answered ignored', async () => {
    const event = stripeEvent('customer.subscription.updated', { id: 'sub_1', object: 'subscription' });
    expect(await deliverEvent(service.url, event)).toEqual({ status: 200, body: { status: 'ignored' } });
    expect(await eventRow(event.id)).toMatchObject({ outcome: 'IGNORED', replayRequested: false });
  });
});

describe('events that cannot be applied stay queued with a reason', () => {
  it('no such invoice', async () => {
    const payment = newPayment('00000000-0000-4000-8000-00000000f00d', 1_000);
    const event = stripeEvent('charge.captured', charge(payment, 1_000));
    expect(await deliverEvent(service.url, event)).toEqual({ status: 200, body: { status: 'queued' } });
    expect(await eventRow(event.id)).toMatchObject({ outcome: 'FAILED', replayRequested: true, lastReplayError: expect.stringMatching(/no invoice found/) });
  });

  it('a malformed object, with nothing half-applied', async () => {
    const payment = await freshPayment();
    const event = stripeEvent('charge.captured', { ...charge(payment, 1_000), amount_captured: -5 });
    expect(await deliverEvent(service.url, event)).toMatchObject({ body: { status: 'queued' } });
    expect((await eventRow(event.id)).lastReplayError).toMatch(/malformed charge object: amount_captured/);
    expect((await invoiceOf(payment.invoiceId)).amountCaptured).toBe(0);
  });

  it('a capture larger than the invoice is due', async () => {
    const payment = await freshPayment(1_000);
    const event = stripeEvent('charge.captured', charge({ ...payment, amount: 2_000 }, 2_000));
    expect(await deliverEvent(service.url, event)).toMatchObject({ body: { status: 'queued' } });
    expect((await eventRow(event.id)).lastReplayError).toMatch(/more than invoice .* is due/);
    expect((await invoiceOf(payment.invoiceId)).amountCaptured).toBe(0);
  });

  it('a currency that is not the invoice’s', async () => {
    const payment = await freshPayment();
    const event = stripeEvent('charge.captured', charge({ ...payment, currency: 'eur' }, 1_000));
    expect(await deliverEvent(service.url, event)).toMatchObject({ body: { status: 'queued' } });
    expect((await eventRow(event.id)).lastReplayError).toMatch(/in EUR, invoice .* in USD/);
  });
});
