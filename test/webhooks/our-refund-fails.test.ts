import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { invoiceAdjustments, invoices, paymentAttempts, refunds } from '../../src/db/schema/index.js';
import { useBillingService } from '../support/billing-fixture.js';
import { makeInvoice } from '../support/factories.js';
import { capture, refund, syntheticGateway } from '../support/payments.js';
import { scrape } from '../support/prometheus.js';
import { deliverEvent, newPayment, refundObject, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

const billing = useBillingService({ BILLING_ROLLOUT_STAGE: 'GENERAL', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });

describe('a refund made through our API that the processor later reports failed', () => {
  it('is given back once, and the invoice can be refunded again', async () => {
    const { service, token, workspaceId } = billing;
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 5_000 });
    expect((await capture(service, token, { invoiceId: invoice.id })).errors).toBeUndefined();
    const refunded = await refund(service, token, { invoiceId: invoice.id, amount: 2_000, reason: 'GOODWILL' });
    const { refund: record, attempt } = refunded.data.refundInvoice;

    // The processor's later word on that refund: failed. It carries our attempt id, as our Stripe gateway sends it.
    await syntheticGateway(service).failRefund(record.processorRefundId);
    const payment = { ...newPayment(invoice.id, 5_000), paymentIntentId: invoice.paymentIntentId! };
    const failed = refundObject(payment, {
      id: record.processorRefundId,
      amount: 2_000,
      status: 'failed',
      failure_reason: 'charge_for_pending_refund_disputed',
      metadata: { invoice_id: invoice.id, reason_code: 'GOODWILL', payment_attempt_id: attempt.id },
    });
    expect(await deliverEvent(service.url, stripeEvent('charge.refund.updated', failed))).toMatchObject({ body: { status: 'processed' } });
    expect(await deliverEvent(service.url, stripeEvent('refund.failed', failed))).toMatchObject({ body: { status: 'processed' } });

    const [row] = await service.deps.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(row).toMatchObject({ amountRefunded: 0, status: 'CAPTURED' });
    const [stored] = await service.deps.db.select().from(refunds).where(eq(refunds.id, record.id));
    expect(stored!.failedAt).toBeInstanceOf(Date);
    const reversals = (await service.deps.db.select().from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, invoice.id))).filter(
      (line) => line.kind === 'REFUND_REVERSAL',
    );
    expect(reversals).toHaveLength(1);
    // The attempt did succeed at the time; its record stays as it was, the reversal explains the rest.
    expect((await service.deps.db.select().from(paymentAttempts).where(eq(paymentAttempts.id, attempt.id)))[0]!.status).toBe('SUCCEEDED');

    const metrics = await scrape(service.url);
    expect(metrics.value('billing_refund_reversals_total', { currency: 'USD', reason: 'GOODWILL' })).toBe(1);
    expect(metrics.value('billing_refund_reversal_amount_minor_total', { currency: 'USD', reason: 'GOODWILL' })).toBe(2_000);

    const again = await refund(service, token, { invoiceId: invoice.id, reason: 'GOODWILL' });
    expect(again.errors).toBeUndefined();
    expect(again.data.refundInvoice.invoice).toMatchObject({ amountRefunded: 5_000, status: 'REFUNDED' });
  });

  it('an attempt still waiting for the processor is settled as failed, and no money moves', async () => {
    const { service, token, workspaceId } = billing;
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 3_000 });
    expect((await capture(service, token, { invoiceId: invoice.id })).errors).toBeUndefined();
    // Our refund request whose answer never came back: UNKNOWN, its amount reserved.
    syntheticGateway(service).injectFailure({ invoiceId: invoice.id, operation: 'refund', mode: 'unavailable' });
    await refund(service, token, { invoiceId: invoice.id, amount: 1_000, reason: 'OTHER' });
    const mine = (await service.deps.db.select().from(paymentAttempts).where(eq(paymentAttempts.invoiceId, invoice.id))).find(
      (row) => row.kind === 'REFUND',
    )!;
    expect(mine.status).toBe('UNKNOWN');

    const payment = { ...newPayment(invoice.id, 3_000), paymentIntentId: invoice.paymentIntentId! };
    const failed = refundObject(payment, { id: 're_failed_unknown_1', amount: 1_000, status: 'failed', metadata: { payment_attempt_id: mine.id } });
    expect(await deliverEvent(service.url, stripeEvent('refund.failed', failed))).toMatchObject({ body: { status: 'processed' } });

    const [settled] = await service.deps.db.select().from(paymentAttempts).where(eq(paymentAttempts.id, mine.id));
    expect(settled).toMatchObject({ status: 'FAILED', errorCode: 'refund_failed' });
    const [row] = await service.deps.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(row!.amountRefunded).toBe(0);
  });
});
