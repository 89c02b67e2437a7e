import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { invoices, paymentAttempts } from '../../src/db/schema/index.js';
import { settleUnresolvedAttempt } from '../../src/domain/ledger/settle-unresolved-attempt.js';
import { runReconciliation } from '../../src/domain/reconciliation/reconcile.js';
import { errorCodes } from '../support/graphql.js';
import { capture, refund } from '../support/payments.js';
import { aDayPasses, authorisedInvoice, deliverEvents, expectLedgerEqualsProcessor, processorSide, useStripeWorld } from '../support/stripe-world.js';

/**
 * The scenarios that ended with the ledger different from Stripe, each as it was found: against a
 * Stripe that keeps keys a day, replays saved 500s and sends today's event shapes.
 */
const world = useStripeWorld();
const db = () => world.service.deps.db;
const attemptsOf = (invoiceId: string) => db().select().from(paymentAttempts).where(eq(paymentAttempts.invoiceId, invoiceId));
const invoiceRow = async (id: string) => (await db().select().from(invoices).where(eq(invoices.id, id)))[0]!;

describe('the ledger agrees with Stripe', () => {
  it('a capture answered 500 after Stripe captured, its webhooks, then a retry after the key expired: 5000 in both', async () => {
    const invoice = await authorisedInvoice(world, 5_000);
    world.stripe.failNext(500, { method: 'POST', after: true });
    const first = await capture(world.service, world.token, { invoiceId: invoice.id, idempotencyKey: 'lost-5000' });
    expect(errorCodes(first)).toEqual(['GATEWAY_UNAVAILABLE']);
    await deliverEvents(world, world.stripe.newEvents());
    await aDayPasses(world);

    const retry = await capture(world.service, world.token, { invoiceId: invoice.id, idempotencyKey: 'lost-5000' });
    expect(retry.errors).toBeUndefined();
    expect(retry.data.captureInvoice.attempt.status).toBe('SUCCEEDED');
    expect(processorSide(world, invoice.paymentIntentId!).captured).toBe(5_000);
    await expectLedgerEqualsProcessor(world, invoice);
  });

  it('a partial capture whose answer was lost, retried after the key expired: Stripe captures once', async () => {
    const invoice = await authorisedInvoice(world, 10_000);
    world.stripe.dropNext({ method: 'POST', after: true, times: 2 });
    const lost = await capture(world.service, world.token, { invoiceId: invoice.id, amount: 3_000, idempotencyKey: 'partial-lost' });
    expect(errorCodes(lost)).toEqual(['GATEWAY_UNAVAILABLE']);
    await aDayPasses(world);
    const sentBefore = world.stripe.requests.length;

    const retry = await capture(world.service, world.token, { invoiceId: invoice.id, amount: 3_000, idempotencyKey: 'partial-lost' });
    expect(retry.errors).toBeUndefined();
    // Asked, not re-sent: no capture request after the day passed.
    expect(world.stripe.requests.slice(sentBefore).filter((request) => request.endpoint === 'POST /v1/payment_intents/:id/capture')).toEqual([]);
    expect(processorSide(world, invoice.paymentIntentId!).captured).toBe(3_000);
    await expectLedgerEqualsProcessor(world, invoice);
  });

  it('a refund retried after its key expired: one refund at Stripe, recorded once, its refund.created applied', async () => {
    const invoice = await authorisedInvoice(world, 4_000);
    expect((await capture(world.service, world.token, { invoiceId: invoice.id })).errors).toBeUndefined();
    world.stripe.newEvents();
    world.stripe.failNext(500, { method: 'POST', after: true });
    const lost = await refund(world.service, world.token, { invoiceId: invoice.id, amount: 1_000, reason: 'GOODWILL', idempotencyKey: 'refund-lost' });
    expect(errorCodes(lost)).toEqual(['GATEWAY_UNAVAILABLE']);
    await aDayPasses(world);

    const retry = await refund(world.service, world.token, { invoiceId: invoice.id, amount: 1_000, reason: 'GOODWILL', idempotencyKey: 'refund-lost' });
    expect(retry.errors).toBeUndefined();
    expect(world.stripe.state.refundsOf({ paymentIntentId: invoice.paymentIntentId! })).toHaveLength(1);
    expect(await deliverEvents(world, world.stripe.newEvents())).not.toContain('queued');
    await expectLedgerEqualsProcessor(world, invoice);
  });

  it('charge.refunded as Stripe sends it today (no refunds list): the refund is fetched and recorded', async () => {
    const invoice = await authorisedInvoice(world, 6_000);
    expect((await capture(world.service, world.token, { invoiceId: invoice.id })).errors).toBeUndefined();
    world.stripe.newEvents();
    world.stripe.state.refundFromDashboard({ paymentIntentId: invoice.paymentIntentId!, amount: 2_000, reason: 'duplicate' });
    const chargeRefunded = world.stripe.newEvents().filter((event) => event.type === 'charge.refunded');
    expect(chargeRefunded).toHaveLength(1);
    expect(chargeRefunded[0]!.data.object).not.toHaveProperty('refunds');

    expect(await deliverEvents(world, chargeRefunded)).toEqual(['processed']);
    expect((await invoiceRow(invoice.id)).amountRefunded).toBe(2_000);
    await expectLedgerEqualsProcessor(world, invoice);
  });

  it('a dashboard refund while one of our captures is unresolved: applied, and no money is invented', async () => {
    const invoice = await authorisedInvoice(world, 8_000);
    expect((await capture(world.service, world.token, { invoiceId: invoice.id, amount: 5_000 })).errors).toBeUndefined();
    world.stripe.failNext(500, { method: 'POST', times: 2 }); // nothing done at Stripe; our second capture's outcome is unknown to us
    expect(errorCodes(await capture(world.service, world.token, { invoiceId: invoice.id, amount: 3_000 }))).toEqual(['GATEWAY_UNAVAILABLE']);
    world.stripe.state.refundFromDashboard({ paymentIntentId: invoice.paymentIntentId!, amount: 1_000 });

    expect(await deliverEvents(world, world.stripe.newEvents())).not.toContain('queued');
    await expectLedgerEqualsProcessor(world, invoice);
  });

  it('a dashboard refund while one of our refunds is unresolved: no capture Stripe never made is recorded', async () => {
    const invoice = await authorisedInvoice(world, 8_000);
    expect((await capture(world.service, world.token, { invoiceId: invoice.id, amount: 5_000 })).errors).toBeUndefined();
    world.stripe.newEvents();
    world.stripe.failNext(500, { method: 'POST', times: 2 });
    expect(errorCodes(await refund(world.service, world.token, { invoiceId: invoice.id, amount: 2_000, reason: 'OTHER' }))).toEqual(['GATEWAY_UNAVAILABLE']);
    world.stripe.state.refundFromDashboard({ paymentIntentId: invoice.paymentIntentId!, amount: 3_000 });

    expect(await deliverEvents(world, world.stripe.newEvents())).not.toContain('queued');
    expect((await invoiceRow(invoice.id)).amountCaptured).toBe(5_000);
    await expectLedgerEqualsProcessor(world, invoice);
  });

  it('a full refund whose answer was lost, retried and declined charge_already_refunded: the ledger has the refund', async () => {
    const invoice = await authorisedInvoice(world, 2_500);
    expect((await capture(world.service, world.token, { invoiceId: invoice.id })).errors).toBeUndefined();
    world.stripe.dropNext({ method: 'POST', after: true, times: 2 });
    expect(errorCodes(await refund(world.service, world.token, { invoiceId: invoice.id, reason: 'REQUESTED_BY_CUSTOMER', idempotencyKey: 'full' }))).toEqual([
      'GATEWAY_UNAVAILABLE',
    ]);
    await aDayPasses(world);

    // Asked again, Stripe would decline (charge_already_refunded): the lookup comes first and finds the refund.
    const [attempt] = (await attemptsOf(invoice.id)).filter((row) => row.kind === 'REFUND');
    const settled = await settleUnresolvedAttempt(world.service.deps, attempt!.id, 'SYSTEM');
    expect(settled.attempt.status).toBe('SUCCEEDED');
    await expectLedgerEqualsProcessor(world, invoice);
  });

  it('capturedAt is when Stripe captured, the same in every delivery order', async () => {
    const invoice = await authorisedInvoice(world, 3_000);
    world.stripe.clock.advance(3_600_000);
    world.stripe.state.capturePaymentIntent(invoice.paymentIntentId!, { amountToCapture: 3_000 });
    const events = world.stripe.newEvents();
    await deliverEvents(world, [...events].reverse());
    const capturedAt = (await invoiceRow(invoice.id)).capturedAt!;
    expect(capturedAt.getTime()).toBe(events.find((event) => event.type === 'charge.captured')!.created * 1000);
    // Redelivered in the other order, it stays.
    await deliverEvents(world, events.map((event) => ({ ...event, id: `${event.id}_again` })));
    expect((await invoiceRow(invoice.id)).capturedAt).toEqual(capturedAt);
    await expectLedgerEqualsProcessor(world, invoice);
  });

  it('a refund that fails later, reported only by charge.updated (no refund.* subscription): the money comes back', async () => {
    const invoice = await authorisedInvoice(world, 5_000);
    expect((await capture(world.service, world.token, { invoiceId: invoice.id })).errors).toBeUndefined();
    world.stripe.newEvents();
    const made = world.stripe.state.refundFromDashboard({ paymentIntentId: invoice.paymentIntentId!, amount: 1, reason: 'requested_by_customer' });
    await deliverEvents(world, world.stripe.newEvents().filter((event) => event.type.startsWith('charge.')));
    expect((await invoiceRow(invoice.id)).amountRefunded).toBe(1);

    world.stripe.state.failRefund(made.id);
    const chargeUpdated = world.stripe.newEvents().filter((event) => event.type.startsWith('charge.'));
    expect(chargeUpdated.map((event) => event.type)).toEqual(['charge.updated']);
    expect(await deliverEvents(world, chargeUpdated)).toEqual(['processed']);
    expect((await invoiceRow(invoice.id)).amountRefunded).toBe(0);
    await expectLedgerEqualsProcessor(world, invoice);
  });

  it('lost webhooks are made good by one reconciliation run, from the processor’s side', async () => {
    const invoice = await authorisedInvoice(world, 7_000);
    world.stripe.state.capturePaymentIntent(invoice.paymentIntentId!, { amountToCapture: 7_000 });
    world.stripe.state.refundFromDashboard({ paymentIntentId: invoice.paymentIntentId!, amount: 500, reason: 'fraudulent' });
    world.stripe.newEvents(); // every webhook lost
    const run = await runReconciliation(world.service.deps, { trigger: 'COMMAND' });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.paymentsRepaired).toBeGreaterThanOrEqual(1);
    await expectLedgerEqualsProcessor(world, invoice);
  });
});
