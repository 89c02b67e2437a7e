import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { invoices } from '../../src/db/schema/index.js';
import { runReconciliation } from '../../src/domain/reconciliation/reconcile.js';
import { errorCodes } from '../support/graphql.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { capture, refund } from '../support/payments.js';
import { authorisedInvoice, useStripeWorld } from '../support/stripe-world.js';

// Charges settle two days after capture, as at Stripe, unless a test marks their money available.
const world = useStripeWorld({}, { settlementDelaySeconds: 2 * 24 * 3600 });
const sentTo = (path: string) => world.stripe.requests.filter((request) => request.method === 'POST' && request.path === path);

describe('the service against Stripe (a fake Stripe server that checks what it receives)', () => {
  it('partial captures, a refund and a reconciliation, with Stripe’s parameters and our idempotency keys', async () => {
    const invoice = await authorisedInvoice(world, 10_000);
    const first = await capture(world.service, world.token, { invoiceId: invoice.id, amount: 4_000 });
    const second = await capture(world.service, world.token, { invoiceId: invoice.id });
    expect(first.errors).toBeUndefined();
    expect(second.data.captureInvoice.invoice).toMatchObject({ status: 'CAPTURED', amountCaptured: 10_000, paymentIntentId: invoice.paymentIntentId });
    expect(second.data.captureInvoice.invoice.externalProcessorId).toMatch(/^ch_/);

    const captures = sentTo(`/v1/payment_intents/${invoice.paymentIntentId}/capture`);
    expect(captures.map((request) => [request.body.amount_to_capture, request.body.final_capture, request.idempotencyKey])).toEqual([
      ['4000', 'false', first.data.captureInvoice.attempt.id],
      ['6000', 'true', second.data.captureInvoice.attempt.id],
    ]);

    const refunded = await refund(world.service, world.token, { invoiceId: invoice.id, amount: 1_500, reason: 'GOODWILL' });
    expect(refunded.errors).toBeUndefined();
    expect(refunded.data.refundInvoice.refund.processorRefundId).toMatch(/^re_/);
    const [refundRequest] = sentTo('/v1/refunds');
    expect(refundRequest).toMatchObject({
      idempotencyKey: refunded.data.refundInvoice.attempt.id,
      body: {
        payment_intent: invoice.paymentIntentId,
        amount: '1500',
        reason: 'requested_by_customer',
        metadata: { invoice_id: invoice.id, reason_code: 'GOODWILL', payment_attempt_id: refunded.data.refundInvoice.attempt.id },
      },
    });

    // Stripe makes the funds available; reconciliation records the settlement and finds the statement agrees.
    world.stripe.state.markAvailable({ paymentIntentId: invoice.paymentIntentId! });
    const run = await runReconciliation(world.service.deps, { trigger: 'COMMAND' });
    expect(run).toMatchObject({ status: 'SUCCEEDED', mismatchesFound: 0 });
    const [row] = await world.service.deps.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(row!.settledAt).toBeInstanceOf(Date);
    expect(row!.reconciledAt).toBeInstanceOf(Date);
    await expectLedgerConsistent(world.service.deps.db);
  });

  it('a card decline is GATEWAY_DECLINED with no money moved', async () => {
    const invoice = await authorisedInvoice(world, 2_000);
    world.stripe.declineNext({ declineCode: 'insufficient_funds' });
    const response = await capture(world.service, world.token, { invoiceId: invoice.id });
    expect(errorCodes(response)).toEqual(['GATEWAY_DECLINED']);
    expect(response.errors?.[0]?.extensions?.details).toMatchObject({ declineCode: 'insufficient_funds' });
    const [row] = await world.service.deps.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(row!.amountCaptured).toBe(0);
  });

  it('Stripe answering 500s leaves the attempt for reconciliation, which captures exactly once', async () => {
    const invoice = await authorisedInvoice(world, 3_000);
    // The SDK tries a POST three times (two network retries, same idempotency key): all three fail.
    world.stripe.failNext(500, { times: 3, method: 'POST' });
    expect(errorCodes(await capture(world.service, world.token, { invoiceId: invoice.id }))).toEqual(['GATEWAY_UNAVAILABLE']);
    const run = await runReconciliation(world.service.deps, { trigger: 'COMMAND' });
    expect(run.attemptsSettled).toBeGreaterThanOrEqual(1);
    const [row] = await world.service.deps.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(row!.amountCaptured).toBe(3_000);
    expect(world.stripe.state.paymentIntents.get(invoice.paymentIntentId!)).toMatchObject({ amount_received: 3_000 });
    await expectLedgerConsistent(world.service.deps.db);
  });
});
