import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GatewayConfigurationError,
  GatewayDeclinedError,
  GatewayUnavailableError,
  REFUND_REASONS,
} from '../../src/domain/gateway/billing-gateway-client.js';
import { StripeGateway, type StripeGatewayOptions } from '../../src/adapters/stripe/stripe-gateway.js';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe/server.js';
import { fromStripeAmount } from '../../src/domain/gateway/stripe-units.js';
import { captureRequest, refundRequest } from './requests.js';

let fake: FakeStripe;
beforeAll(async () => {
  fake = await startFakeStripe();
});
afterAll(() => fake.close());

/** No SDK retries unless a test asks: each fault below should reach the gateway as it is. */
const gatewayFor = (options: Partial<StripeGatewayOptions> = {}) =>
  new StripeGateway({ ...fake.connection, maxNetworkRetries: 0, timeoutMs: 5_000, ...options });

function seedIntent(amount = 10_000, currency = 'usd') {
  const paymentIntentId = fake.state.createPaymentIntent({ amount, currency, metadata: { source: 'test' } });
  return { paymentIntentId, intent: () => fake.state.paymentIntents.get(paymentIntentId)! };
}

const requestsTo = (path: string, method = 'POST') => fake.requests.filter((request) => request.method === method && request.path === path);

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected the call to fail'),
    (error: unknown) => error,
  );
}

describe('StripeGateway capture', () => {
  it('captures in full and reports the charge', async () => {
    const { paymentIntentId, intent } = seedIntent(10_000);
    const request = captureRequest({ paymentIntentId, amount: 10_000 });

    const result = await gatewayFor().capture(request);

    const charge = fake.state.charges.get(intent().latest_charge!)!;
    const transaction = fake.state.balanceTransactions.get(charge.balance_transaction!)!;
    expect(result).toEqual({
      status: 'succeeded',
      paymentIntentId,
      chargeId: charge.id,
      amountCaptured: 10_000,
      capturedTotal: 10_000,
      capturedAt: new Date(transaction.created * 1000),
      settledAt: null, // Stripe's funds are pending for days
    });
    expect(intent()).toMatchObject({ status: 'succeeded', amount_received: 10_000, amount_capturable: 0 });
  });

  it('sends the amount, final_capture and the idempotency key the way Stripe expects them', async () => {
    const { paymentIntentId } = seedIntent();
    const request = captureRequest({ paymentIntentId, amount: 2_500, finalCapture: false });

    await gatewayFor().capture(request);

    const [sent] = requestsTo(`/v1/payment_intents/${paymentIntentId}/capture`);
    expect(sent?.idempotencyKey).toBe(request.idempotencyKey);
    expect(sent?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(sent?.headers.authorization).toBe(`Bearer ${fake.secretKey}`);
    expect(sent?.body).toEqual({
      amount_to_capture: '2500',
      final_capture: 'false',
      metadata: { [`cap_${request.idempotencyKey.replaceAll('-', '')}`]: '2500' },
      expand: ['latest_charge.balance_transaction'],
    });
  });

  it('captures in parts (multicapture) on the same charge', async () => {
    const { paymentIntentId, intent } = seedIntent(10_000);
    const gateway = gatewayFor();

    const first = await gateway.capture(captureRequest({ paymentIntentId, amount: 3_000, finalCapture: false }));
    expect(intent()).toMatchObject({ status: 'requires_capture', amount_received: 3_000, amount_capturable: 7_000 });
    const second = await gateway.capture(captureRequest({ paymentIntentId, amount: 7_000, finalCapture: true }));

    expect(second.chargeId).toBe(first.chargeId);
    expect([first.amountCaptured, second.amountCaptured]).toEqual([3_000, 7_000]);
    expect([first.capturedTotal, second.capturedTotal]).toEqual([3_000, 10_000]);
    expect(intent()).toMatchObject({ status: 'succeeded', amount_received: 10_000, amount_capturable: 0 });
    expect(fake.state.balanceTransactionsOf({ source: first.chargeId }).map((line) => line.amount)).toEqual([3_000, 7_000]);
  });

  it('releases the rest after a partial final capture, as Stripe does', async () => {
    const { paymentIntentId, intent } = seedIntent(10_000);
    await gatewayFor().capture(captureRequest({ paymentIntentId, amount: 4_000, finalCapture: true }));
    expect(intent()).toMatchObject({ status: 'succeeded', amount_received: 4_000, amount_capturable: 0 });

    const more = await rejectionOf(gatewayFor().capture(captureRequest({ paymentIntentId, amount: 1_000 })));
    expect(more).toBeInstanceOf(GatewayDeclinedError);
    expect((more as GatewayDeclinedError).declineCode).toBe('payment_intent_unexpected_state');
  });

  it('captures once when the same idempotency key is sent twice', async () => {
    const { paymentIntentId, intent } = seedIntent(10_000);
    const request = captureRequest({ paymentIntentId, amount: 6_000, finalCapture: false });
    const gateway = gatewayFor();

    const first = await gateway.capture(request);
    const again = await gateway.capture({ ...request });

    expect(again).toEqual(first);
    expect(intent().amount_received).toBe(6_000);
    expect(requestsTo(`/v1/payment_intents/${paymentIntentId}/capture`).map((sent) => sent.replayed)).toEqual([false, true]);
  });

  it('turns a card decline into GatewayDeclinedError and captures nothing', async () => {
    const { paymentIntentId, intent } = seedIntent();
    fake.declineNext({ declineCode: 'insufficient_funds' });

    const error = await rejectionOf(gatewayFor().capture(captureRequest({ paymentIntentId })));

    expect(error).toBeInstanceOf(GatewayDeclinedError);
    expect((error as GatewayDeclinedError).declineCode).toBe('insufficient_funds');
    expect(intent().amount_received).toBe(0);
  });

  it('declines a capture above what is capturable', async () => {
    const { paymentIntentId, intent } = seedIntent(5_000);
    const error = await rejectionOf(gatewayFor().capture(captureRequest({ paymentIntentId, amount: 5_001 })));
    expect((error as GatewayDeclinedError).declineCode).toBe('amount_too_large');
    expect(intent().amount_received).toBe(0);
  });

  it('declines, before capturing, an amount in another currency than the intent', async () => {
    const { paymentIntentId } = seedIntent(10_000, 'eur');
    const error = await rejectionOf(gatewayFor().capture(captureRequest({ paymentIntentId, currency: 'USD' })));
    expect((error as GatewayDeclinedError).declineCode).toBe('currency_mismatch');
    expect(requestsTo(`/v1/payment_intents/${paymentIntentId}/capture`)).toHaveLength(0);
  });

  it('declines an invoice without a payment intent without calling Stripe', async () => {
    const before = fake.requests.length;
    const error = await rejectionOf(gatewayFor().capture(captureRequest({ paymentIntentId: null })));
    expect((error as GatewayDeclinedError).declineCode).toBe('payment_intent_missing');
    expect(fake.requests.length).toBe(before);
  });

  it('declines an unknown payment intent', async () => {
    const error = await rejectionOf(gatewayFor().capture(captureRequest({ paymentIntentId: 'pi_does_not_exist' })));
    expect((error as GatewayDeclinedError).declineCode).toBe('resource_missing');
  });
});

describe('StripeGateway when Stripe is unavailable', () => {
  it('reports a 500 as unavailable and nothing is captured', async () => {
    const { paymentIntentId, intent } = seedIntent();
    fake.failNext(500, { method: 'POST' });
    const error = await rejectionOf(gatewayFor().capture(captureRequest({ paymentIntentId })));
    expect(error).toBeInstanceOf(GatewayUnavailableError);
    expect(intent().amount_received).toBe(0);
  });

  it('reports a 429 as unavailable', async () => {
    const { paymentIntentId } = seedIntent();
    fake.failNext(429);
    await expect(gatewayFor().getPayment(paymentIntentId)).rejects.toBeInstanceOf(GatewayUnavailableError);
  });

  it('lets the SDK retry a 500 with the same idempotency key', async () => {
    const { paymentIntentId, intent } = seedIntent();
    const request = captureRequest({ paymentIntentId });
    fake.failNext(500, { method: 'POST' });

    const result = await gatewayFor({ maxNetworkRetries: 1 }).capture(request);

    expect(result.amountCaptured).toBe(request.amount);
    expect(intent().amount_received).toBe(request.amount);
    const sent = requestsTo(`/v1/payment_intents/${paymentIntentId}/capture`);
    expect(sent.map((one) => [one.status, one.idempotencyKey])).toEqual([
      [500, request.idempotencyKey],
      [200, request.idempotencyKey],
    ]);
  });

  it('reports a timeout as unavailable; the same key then returns the capture that did happen', async () => {
    const { paymentIntentId, intent } = seedIntent();
    const request = captureRequest({ paymentIntentId, amount: 4_000, finalCapture: false });
    fake.hangNext(2_000, { method: 'POST' });

    const error = await rejectionOf(gatewayFor({ timeoutMs: 200 }).capture(request));
    expect(error).toBeInstanceOf(GatewayUnavailableError);
    expect(intent().amount_received).toBe(4_000); // Stripe did the work; only the answer was lost

    const result = await gatewayFor().capture(request);
    expect(result).toMatchObject({ paymentIntentId, amountCaptured: 4_000, chargeId: intent().latest_charge });
    expect(intent().amount_received).toBe(4_000);
    expect(requestsTo(`/v1/payment_intents/${paymentIntentId}/capture`).map((sent) => sent.replayed)).toEqual([false, true]);
  });

  it('reports a refused connection as unavailable', async () => {
    const closed = await startFakeStripe();
    await closed.close();
    const gateway = new StripeGateway({ ...closed.connection, maxNetworkRetries: 0 });
    await expect(gateway.getPayment('pi_any')).rejects.toBeInstanceOf(GatewayUnavailableError);
  });
});

describe('StripeGateway refunds', () => {
  async function captured(amount = 10_000) {
    const { paymentIntentId, intent } = seedIntent(amount);
    const capture = captureRequest({ paymentIntentId, amount });
    await gatewayFor().capture(capture);
    const refund = (overrides: Partial<Parameters<typeof refundRequest>[0]> = {}) =>
      gatewayFor().refund(refundRequest({ invoiceId: capture.invoiceId, paymentIntentId, ...overrides }));
    const charge = () => fake.state.charges.get(intent().latest_charge!)!;
    return { paymentIntentId, invoiceId: capture.invoiceId, refund, charge };
  }

  it('refunds in parts, then in full, then declines more', async () => {
    const { refund, charge } = await captured(10_000);

    const partial = await refund({ amount: 4_000 });
    expect(partial).toMatchObject({ status: 'succeeded', amount: 4_000, currency: 'USD', reason: 'REQUESTED_BY_CUSTOMER', failureReason: null });
    expect(partial.id).toMatch(/^re_/);
    expect(partial.chargeId).toBe(charge().id);
    expect(fake.state.refunds.get(partial.id)).toMatchObject({ amount: 4_000, status: 'succeeded' });
    await refund({ amount: 6_000 });
    expect(charge()).toMatchObject({ amount_refunded: 10_000, refunded: true });

    const more = await rejectionOf(refund({ amount: 1 }));
    expect(more).toBeInstanceOf(GatewayDeclinedError);
    expect((more as GatewayDeclinedError).declineCode).toBe('charge_already_refunded');
  });

  it('declines a refund above what is left to refund', async () => {
    const { refund, charge } = await captured(5_000);
    await refund({ amount: 2_000 });
    const error = await rejectionOf(refund({ amount: 3_001 }));
    expect((error as GatewayDeclinedError).declineCode).toBe('amount_too_large');
    expect(charge().amount_refunded).toBe(2_000);
  });

  it('refunds once for a repeated idempotency key', async () => {
    const { refund, charge } = await captured();
    const first = await refund({ amount: 1_500, idempotencyKey: 'refund-attempt-1' });
    const again = await refund({ amount: 1_500, idempotencyKey: 'refund-attempt-1' });
    expect(again).toEqual(first);
    expect(charge().amount_refunded).toBe(1_500);
  });

  it.each([
    ['DUPLICATE', 'duplicate'],
    ['FRAUDULENT', 'fraudulent'],
    ['REQUESTED_BY_CUSTOMER', 'requested_by_customer'],
    ['SERVICE_NOT_PROVIDED', 'requested_by_customer'],
    ['GOODWILL', 'requested_by_customer'],
    ['OTHER', 'requested_by_customer'],
  ] as const)('sends our reason %s to Stripe as %s, keeping our code in metadata', async (reason, stripeReason) => {
    const { refund, invoiceId, paymentIntentId } = await captured();
    const request = { reason, amount: 700, idempotencyKey: `refund-${reason}-${paymentIntentId}` };

    await refund(request);

    const sent = requestsTo('/v1/refunds').find((one) => one.idempotencyKey === request.idempotencyKey);
    expect(sent?.body).toEqual({
      payment_intent: paymentIntentId,
      amount: '700',
      reason: stripeReason,
      metadata: { invoice_id: invoiceId, reason_code: reason, payment_attempt_id: request.idempotencyKey },
    });
  });

  it('covers every reason we have', () => {
    expect(REFUND_REASONS).toHaveLength(6);
  });

  it('reports a pending refund as pending', async () => {
    const { refund } = await captured();
    fake.state.refundOutcomeNext('pending');
    expect(await refund({ amount: 1_000 })).toMatchObject({ status: 'pending', amount: 1_000 });
  });

  it('turns a failed refund into GatewayDeclinedError', async () => {
    const { refund, charge } = await captured();
    fake.state.refundOutcomeNext('failed');
    const error = await rejectionOf(refund({ amount: 1_000 }));
    expect(error).toBeInstanceOf(GatewayDeclinedError);
    expect(charge().amount_refunded).toBe(0);
  });
});

describe('StripeGateway lookups', () => {
  it('answers null for a payment intent Stripe does not know', async () => {
    expect(await gatewayFor().getPayment('pi_unknown_to_stripe')).toBeNull();
  });

  it('reports an authorised, uncaptured payment', async () => {
    const paymentIntentId = fake.state.createPaymentIntent({ amount: 9_000, currency: 'jpy', metadata: { invoice_id: 'inv-jpy' } });
    expect(await gatewayFor().getPayment(paymentIntentId)).toEqual({
      paymentIntentId,
      status: 'requires_capture',
      currency: 'JPY',
      invoiceId: 'inv-jpy',
      chargeId: fake.state.paymentIntents.get(paymentIntentId)!.latest_charge,
      amountCaptured: 0,
      capturedAt: null,
      captureAttemptIds: [],
      refunds: [],
      settledAt: null,
    });
  });

  it('reports captures with their attempts and times, every refund, and the settlement once available', async () => {
    const { paymentIntentId, intent } = seedIntent(10_000);
    const gateway = gatewayFor();
    const first = captureRequest({ paymentIntentId, amount: 4_000, finalCapture: false });
    await gateway.capture(first);
    fake.clock.advance(3_600_000);
    const second = captureRequest({ paymentIntentId, amount: 6_000, finalCapture: true });
    const secondResult = await gateway.capture(second);
    const ours = await gateway.refund(refundRequest({ invoiceId: first.invoiceId, paymentIntentId, amount: 2_500, reason: 'GOODWILL' }));
    const dashboard = fake.state.refundFromDashboard({ paymentIntentId, amount: 1_000, reason: 'duplicate' });
    const unexplained = fake.state.refundFromDashboard({ paymentIntentId, amount: 500, reason: null });
    fake.state.failRefund(unexplained.id, 'expired_or_canceled_card');

    const payment = await gateway.getPayment(paymentIntentId);
    expect(payment).toMatchObject({
      status: 'succeeded',
      chargeId: intent().latest_charge,
      amountCaptured: 10_000,
      capturedAt: secondResult.capturedAt,
      currency: 'USD',
      settledAt: null,
    });
    expect(payment?.captureAttemptIds).toEqual([first.idempotencyKey, second.idempotencyKey]);
    expect(payment?.refunds.map((refund) => [refund.id, refund.amount, refund.status, refund.attemptId, refund.reason, refund.failureReason])).toEqual([
      [ours.id, 2_500, 'succeeded', ours.attemptId, 'GOODWILL', null],
      [dashboard.id, 1_000, 'succeeded', null, 'DUPLICATE', null],
      [unexplained.id, 500, 'failed', null, 'OTHER', 'expired_or_canceled_card'],
    ]);
    expect(payment?.refunds[0]?.createdAt).toEqual(new Date(fake.state.refunds.get(ours.id)!.created * 1000));

    const [settled] = fake.state.markAvailable({ paymentIntentId }).filter((line) => line.type === 'charge').slice(-1);
    expect((await gateway.getPayment(paymentIntentId))?.settledAt).toEqual(new Date(settled!.available_on * 1000));
  });

  it('reads all refunds of a payment, page after page', async () => {
    const paymentIntentId = fake.state.createPaymentIntent({ amount: 30_000, currency: 'usd', captureMethod: 'automatic' });
    for (let index = 0; index < 105; index += 1) fake.state.refundFromDashboard({ paymentIntentId, amount: 100 });
    const before = fake.callCounts()['GET /v1/refunds'] ?? 0;

    const payment = await gatewayFor().getPayment(paymentIntentId);

    expect(payment?.refunds).toHaveLength(105);
    expect(payment?.refunds[0]?.createdAt.getTime()).toBeLessThanOrEqual(payment!.refunds[104]!.createdAt.getTime());
    expect(new Set(payment?.refunds.map((refund) => refund.id)).size).toBe(105);
    expect(fake.callCounts()['GET /v1/refunds']).toBe(before + 2);
  });

  it('lists settled lines of several payment intents: each capture, each refund', async () => {
    const gateway = gatewayFor();
    const multi = seedIntent(10_000);
    await gateway.capture(captureRequest({ paymentIntentId: multi.paymentIntentId, amount: 3_000, finalCapture: false }));
    await gateway.capture(captureRequest({ paymentIntentId: multi.paymentIntentId, amount: 5_000, finalCapture: true }));
    const refunded = seedIntent(4_000);
    const capture = captureRequest({ paymentIntentId: refunded.paymentIntentId, amount: 4_000 });
    await gateway.capture(capture);
    await gateway.refund(refundRequest({ invoiceId: capture.invoiceId, paymentIntentId: refunded.paymentIntentId, amount: 1_000 }));
    const ids = [multi.paymentIntentId, refunded.paymentIntentId, 'pi_unknown_to_stripe'];

    expect(await gateway.listSettlements(ids)).toEqual([]); // nothing available yet

    fake.state.markAvailable({ paymentIntentId: multi.paymentIntentId });
    fake.state.markAvailable({ paymentIntentId: refunded.paymentIntentId });
    const lines = await gateway.listSettlements(ids);

    const summary = lines.map((line) => [line.paymentIntentId, line.type, line.amount, line.currency]).sort();
    expect(summary).toEqual(
      [
        [multi.paymentIntentId, 'charge', 3_000, 'USD'],
        [multi.paymentIntentId, 'charge', 5_000, 'USD'],
        [refunded.paymentIntentId, 'charge', 4_000, 'USD'],
        [refunded.paymentIntentId, 'refund', -1_000, 'USD'],
      ].sort(),
    );
    for (const line of lines) {
      const transaction = fake.state.balanceTransactions.get(line.id)!;
      expect(line.availableOn).toEqual(new Date(transaction.available_on * 1000));
    }
  });

  it('leaves out lines that are still pending', async () => {
    const gateway = gatewayFor();
    const { paymentIntentId } = seedIntent(6_000);
    await gateway.capture(captureRequest({ paymentIntentId, amount: 2_000, finalCapture: false }));
    fake.state.markAvailable({ paymentIntentId });
    await gateway.capture(captureRequest({ paymentIntentId, amount: 4_000, finalCapture: true }));

    const lines = await gateway.listSettlements([paymentIntentId]);
    expect(lines.map((line) => line.amount)).toEqual([2_000]);
  });
});

describe('StripeGateway with a wrong secret key', () => {
  // Decision: Stripe's 401 becomes GatewayConfigurationError, a GatewayDeclinedError subclass. Stripe did
  // not process the request, so nothing moved and the attempt can fail for good; retrying (what
  // "unavailable" would cause) cannot help until an operator fixes STRIPE_SECRET_KEY.
  it('fails with a configuration error that names the cause and not the key', async () => {
    const { paymentIntentId, intent } = seedIntent();
    const gateway = gatewayFor({ secretKey: 'sk_test_wrong_key_123456' });

    const error = await rejectionOf(gateway.capture(captureRequest({ paymentIntentId })));

    expect(error).toBeInstanceOf(GatewayConfigurationError);
    expect(error).toBeInstanceOf(GatewayDeclinedError);
    expect((error as GatewayDeclinedError).declineCode).toBe('gateway_authentication_failed');
    expect((error as Error).message).toContain('STRIPE_SECRET_KEY');
    expect((error as Error).message).not.toContain('wrong_key');
    expect(intent().amount_received).toBe(0);
    await expect(gateway.getPayment(paymentIntentId)).rejects.toBeInstanceOf(GatewayConfigurationError);
  });
});

describe('StripeGateway under every fault kind', () => {
  const HOUR = 3_600_000;
  const capturePath = (id: string) => `/v1/payment_intents/${id}/capture`;

  it('a 500 after Stripe captured is unavailable, and so is every re-send with the key; a lookup finds the capture', async () => {
    const { paymentIntentId, intent } = seedIntent(5_000);
    const request = captureRequest({ paymentIntentId, amount: 5_000 });
    fake.failNext(500, { after: true, method: 'POST', path: capturePath(paymentIntentId) });
    // Stripe says not to retry a saved 500: the SDK sends once, however many retries it may make.
    const gateway = gatewayFor({ maxNetworkRetries: 2 });

    expect(await rejectionOf(gateway.capture(request))).toBeInstanceOf(GatewayUnavailableError);
    expect(requestsTo(capturePath(paymentIntentId))).toHaveLength(1);
    expect(await rejectionOf(gateway.capture(request))).toBeInstanceOf(GatewayUnavailableError);
    expect(intent().amount_received).toBe(5_000);

    const payment = await gateway.getPayment(paymentIntentId);
    expect(payment).toMatchObject({ amountCaptured: 5_000, captureAttemptIds: [request.idempotencyKey] });
  });

  it('a re-send after the key expired is a new request: a second partial capture, or a decline for a full one', async () => {
    const partial = seedIntent(10_000);
    const request = captureRequest({ paymentIntentId: partial.paymentIntentId, amount: 3_000, finalCapture: false });
    await gatewayFor().capture(request);
    fake.clock.advance(25 * HOUR);
    const again = await gatewayFor().capture(request);
    expect(again.capturedTotal).toBe(6_000); // why the domain looks up, never re-sends, after its window
    expect(partial.intent().amount_received).toBe(6_000);

    const full = seedIntent(10_000);
    const fullRequest = captureRequest({ paymentIntentId: full.paymentIntentId, amount: 10_000 });
    await gatewayFor().capture(fullRequest);
    fake.clock.advance(25 * HOUR);
    const declined = await rejectionOf(gatewayFor().capture(fullRequest));
    expect((declined as GatewayDeclinedError).declineCode).toBe('payment_intent_unexpected_state');
  });

  it('a dropped connection, before or after the work, is unavailable', async () => {
    const { paymentIntentId, intent } = seedIntent(10_000);
    // The SDK re-sends once after a reset connection, even with retries off: two drops lose the answer.
    fake.dropNext({ method: 'POST', path: capturePath(paymentIntentId), times: 2 });
    const before = await rejectionOf(gatewayFor().capture(captureRequest({ paymentIntentId, amount: 1_000, finalCapture: false })));
    expect(before).toBeInstanceOf(GatewayUnavailableError);
    expect(intent().amount_received).toBe(0);

    fake.dropNext({ method: 'POST', path: capturePath(paymentIntentId), after: true, times: 2 });
    const request = captureRequest({ paymentIntentId, amount: 1_000, finalCapture: false });
    expect(await rejectionOf(gatewayFor().capture(request))).toBeInstanceOf(GatewayUnavailableError);
    expect(intent().amount_received).toBe(1_000);
    expect(await gatewayFor().capture(request)).toMatchObject({ amountCaptured: 1_000, capturedTotal: 1_000 });
  });

  it('a request while another with the same key is in flight (409) is unavailable', async () => {
    const { paymentIntentId, intent } = seedIntent(10_000);
    const request = captureRequest({ paymentIntentId, amount: 2_000, finalCapture: false });
    const gate = fake.holdNext({ method: 'POST', path: capturePath(paymentIntentId) });
    const first = gatewayFor().capture(request);
    await gate.arrived;

    const concurrent = await rejectionOf(gatewayFor().capture(request));
    expect(concurrent).toBeInstanceOf(GatewayUnavailableError);
    expect(requestsTo(capturePath(paymentIntentId)).at(-1)?.status).toBe(409);

    gate.release();
    expect(await first).toMatchObject({ amountCaptured: 2_000 });
    expect(intent().amount_received).toBe(2_000);
  });

  it('a timeout while Stripe has not yet executed is unavailable, and the work may still happen after', async () => {
    const { paymentIntentId, intent } = seedIntent(10_000);
    const request = captureRequest({ paymentIntentId, amount: 2_500, finalCapture: false });
    const gate = fake.holdNext({ method: 'POST', path: capturePath(paymentIntentId) });

    expect(await rejectionOf(gatewayFor({ timeoutMs: 300 }).capture(request))).toBeInstanceOf(GatewayUnavailableError);
    expect(intent().amount_received).toBe(0);
    gate.release();
    await expect.poll(() => intent().amount_received).toBe(2_500);

    expect(await gatewayFor().capture(request)).toMatchObject({ amountCaptured: 2_500, capturedTotal: 2_500 });
    expect(requestsTo(capturePath(paymentIntentId)).map((sent) => sent.replayed)).toEqual([false, true]);
  });

  it('a key reused with other parameters is declined with idempotency_error', async () => {
    const { paymentIntentId, intent } = seedIntent(10_000);
    const request = captureRequest({ paymentIntentId, amount: 2_000, finalCapture: false });
    await gatewayFor().capture(request);
    const error = await rejectionOf(gatewayFor().capture({ ...request, amount: 3_000 }));
    expect(error).toBeInstanceOf(GatewayDeclinedError);
    expect((error as GatewayDeclinedError).declineCode).toBe('idempotency_error');
    expect(intent().amount_received).toBe(2_000);
  });

  it('a refund answered with a 500 after Stripe refunded is unavailable; a lookup finds it by its attempt', async () => {
    const { paymentIntentId } = seedIntent(10_000);
    const capture = captureRequest({ paymentIntentId });
    await gatewayFor().capture(capture);
    const request = refundRequest({ invoiceId: capture.invoiceId, paymentIntentId, amount: 10_000 });
    fake.failNext(500, { after: true, method: 'POST', path: '/v1/refunds' });

    expect(await rejectionOf(gatewayFor().refund(request))).toBeInstanceOf(GatewayUnavailableError);
    fake.clock.advance(25 * HOUR);
    const retried = await rejectionOf(gatewayFor().refund(request));
    expect((retried as GatewayDeclinedError).declineCode).toBe('charge_already_refunded');

    const payment = await gatewayFor().getPayment(paymentIntentId);
    expect(payment?.refunds).toEqual([expect.objectContaining({ amount: 10_000, status: 'succeeded', attemptId: request.idempotencyKey })]);
  });
});

describe('StripeGateway activity since a watermark', () => {
  let account: FakeStripe;
  beforeAll(async () => {
    account = await startFakeStripe();
  });
  afterAll(() => account.close());
  const gateway = (options: Partial<StripeGatewayOptions> = {}) =>
    new StripeGateway({ ...account.connection, maxNetworkRetries: 0, timeoutMs: 5_000, ...options });
  const listCalls = () =>
    Object.entries(account.callCounts())
      .filter(([endpoint]) => ['GET /v1/balance_transactions', 'GET /v1/refunds', 'GET /v1/payment_intents'].includes(endpoint))
      .reduce((sum, [, count]) => sum + count, 0);

  it('names each payment touched since then once, in calls that follow the activity, not the account', async () => {
    const seed = (captureMethod: 'manual' | 'automatic') => account.state.createPaymentIntent({ amount: 10_000, currency: 'usd', captureMethod });
    const toCapture = seed('manual');
    const toRefund = seed('automatic');
    const refundThatFails = seed('automatic');
    const failing = account.state.refundFromDashboard({ paymentIntentId: refundThatFails, amount: 1_000 });
    for (let index = 0; index < 300; index += 1) seed(index % 2 === 0 ? 'manual' : 'automatic'); // untouched
    account.clock.advance(24 * 3_600_000);
    const since = account.clock.now();

    await gateway().capture(captureRequest({ paymentIntentId: toCapture, amount: 4_000, finalCapture: false }));
    account.state.refundFromDashboard({ paymentIntentId: toRefund, amount: 2_000 });
    account.state.failRefund(failing.id);
    const created = seed('manual');

    const before = listCalls();
    const activity = await gateway().listActivity(since);
    expect(activity.sort()).toEqual([toCapture, toRefund, refundThatFails, created].sort());
    expect(listCalls() - before).toBe(3);
  });

  it('pages through activity larger than a page', async () => {
    account.clock.advance(3_600_000);
    const since = account.clock.now();
    const created = Array.from({ length: 150 }, () => account.state.createPaymentIntent({ amount: 100, currency: 'usd' }));
    const before = listCalls();
    const activity = await gateway().listActivity(since);
    expect(new Set(activity)).toEqual(new Set(created));
    expect(listCalls() - before).toBe(4); // balance transactions 1, refunds 1, payment intents 2
  });
});

describe('StripeGateway processor units', () => {
  const sentBody = (paymentIntentId: string) => requestsTo(`/v1/payment_intents/${paymentIntentId}/capture`).at(-1)?.body;

  it('ISK: the ledger\'s krónur go to Stripe ×100 and come back ÷100', async () => {
    const paymentIntentId = fake.state.createPaymentIntent({ amount: 50_000, currency: 'isk' }); // 500 kr at Stripe
    const gateway = gatewayFor();
    const capture = captureRequest({ paymentIntentId, currency: 'ISK', amount: 200, finalCapture: false });

    expect(await gateway.capture(capture)).toMatchObject({ amountCaptured: 200, capturedTotal: 200 });
    expect(sentBody(paymentIntentId)).toMatchObject({ amount_to_capture: '20000' });
    const refund = await gateway.refund(refundRequest({ invoiceId: capture.invoiceId, paymentIntentId, currency: 'ISK', amount: 50 }));
    expect(refund).toMatchObject({ amount: 50, currency: 'ISK' });
    expect(fake.state.refunds.get(refund.id)?.amount).toBe(5_000);
    expect(await gateway.getPayment(paymentIntentId)).toMatchObject({ amountCaptured: 200, refunds: [expect.objectContaining({ amount: 50 })] });
  });

  it('ISK: a Stripe amount that is not whole krónur is reported, never rounded', () => {
    expect(() => fromStripeAmount('isk', 50_050)).toThrow(/not a whole number/);
  });

  it.each(['BHD', 'JOD', 'KWD', 'OMR', 'TND'])('%s: an amount not ending in 0 is declined before Stripe is called; one ending in 0 goes as it is', async (currency) => {
    const paymentIntentId = fake.state.createPaymentIntent({ amount: 5_000, currency });
    const refused = await rejectionOf(gatewayFor().capture(captureRequest({ paymentIntentId, currency, amount: 1_005, finalCapture: false })));
    expect(refused).toBeInstanceOf(GatewayDeclinedError);
    expect((refused as GatewayDeclinedError).declineCode).toBe('amount_precision_unsupported');
    expect(requestsTo(`/v1/payment_intents/${paymentIntentId}`, 'GET')).toHaveLength(0);

    await gatewayFor().capture(captureRequest({ paymentIntentId, currency, amount: 1_010, finalCapture: false }));
    expect(sentBody(paymentIntentId)).toMatchObject({ amount_to_capture: '1010' });
  });

  it.each(['HUF', 'TWD', 'UGX'])('%s: Stripe takes charges in ISO 4217 minor units (its special case is payouts only), unchanged', async (currency) => {
    const paymentIntentId = fake.state.createPaymentIntent({ amount: 20_000, currency });
    expect(await gatewayFor().capture(captureRequest({ paymentIntentId, currency, amount: 12_345 }))).toMatchObject({ capturedTotal: 12_345 });
    expect(sentBody(paymentIntentId)).toMatchObject({ amount_to_capture: '12345' });
  });
});
