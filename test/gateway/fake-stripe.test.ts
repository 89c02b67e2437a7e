import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe/server.js';
import { sign, WEBHOOK_SECRET } from '../support/stripe-events.js';

/**
 * The fake is shared infrastructure (gateway, webhook and reconciliation tests), so the Stripe behaviour
 * those tests rely on is pinned here, through the real SDK.
 */
let fake: FakeStripe;
let stripe: Stripe;
beforeAll(async () => {
  fake = await startFakeStripe();
  const { secretKey, ...connection } = fake.connection;
  stripe = new Stripe(secretKey, { ...connection, maxNetworkRetries: 0, telemetry: false });
});
afterAll(() => fake.close());

async function stripeError(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  const error = await promise.then(
    () => expect.unreachable('expected Stripe to refuse'),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Stripe.errors.StripeError);
  return error as Stripe.errors.StripeError;
}

describe('fake Stripe', () => {
  it('refuses an idempotency key reused with other parameters, and changes nothing', async () => {
    const id = fake.state.createPaymentIntent({ amount: 5_000, currency: 'usd' });
    await stripe.paymentIntents.capture(id, { amount_to_capture: 1_000, final_capture: false }, { idempotencyKey: 'key-1' });

    const error = await stripeError(
      stripe.paymentIntents.capture(id, { amount_to_capture: 2_000, final_capture: false }, { idempotencyKey: 'key-1' }),
    );

    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error.statusCode).toBe(400);
    expect(fake.state.paymentIntents.get(id)?.amount_received).toBe(1_000);
  });

  it('refuses unknown parameters without keeping the answer for the key', async () => {
    const id = fake.state.createPaymentIntent({ amount: 5_000, currency: 'usd' });
    const error = await stripeError(
      stripe.paymentIntents.capture(id, { amount_to_capture: 1_000, amount: 3 } as Stripe.PaymentIntentCaptureParams, {
        idempotencyKey: 'key-typo',
      }),
    );
    expect(error).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'amount' });

    const intent = await stripe.paymentIntents.capture(id, { amount_to_capture: 1_000 }, { idempotencyKey: 'key-typo' });
    expect(intent.amount_received).toBe(1_000);
  });

  it('refuses to expand a field that holds no id, before capturing', async () => {
    const id = fake.state.createPaymentIntent({ amount: 5_000, currency: 'usd' });
    const error = await stripeError(stripe.paymentIntents.capture(id, { expand: ['amount'] }));
    expect(error.statusCode).toBe(400);
    expect(fake.state.paymentIntents.get(id)?.amount_received).toBe(0);
  });

  it('expands nested objects and lists, and pages lists newest first', async () => {
    const id = fake.state.createPaymentIntent({ amount: 9_000, currency: 'eur', captureMethod: 'automatic' });
    for (const amount of [1_000, 2_000, 3_000]) await stripe.refunds.create({ payment_intent: id, amount });

    const firstPage = await stripe.refunds.list({ payment_intent: id, limit: 2, expand: ['data.balance_transaction'] });
    expect(firstPage.has_more).toBe(true);
    expect(firstPage.data.map((refund) => refund.amount)).toEqual([3_000, 2_000]);
    expect(firstPage.data[0]?.balance_transaction).toMatchObject({ object: 'balance_transaction', amount: -3_000, type: 'refund' });
    const all = await stripe.refunds.list({ payment_intent: id, limit: 2 }).autoPagingToArray({ limit: 100 });
    expect(all.map((refund) => refund.amount)).toEqual([3_000, 2_000, 1_000]);

    const [charge] = (await stripe.charges.list({ payment_intent: id, expand: ['data.refunds'] })).data;
    expect(charge).toMatchObject({ amount_captured: 9_000, amount_refunded: 6_000, captured: true });
    expect(charge?.refunds?.data).toHaveLength(3);
  });

  it('answers 404 resource_missing for unknown objects and unknown filters', async () => {
    const missing = await stripeError(stripe.paymentIntents.retrieve('pi_missing'));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    const filter = await stripeError(stripe.charges.list({ payment_intent: 'pi_missing' }));
    expect(filter).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('records every request with its parsed parameters', async () => {
    const id = fake.state.createPaymentIntent({ amount: 1_000, currency: 'usd' });
    await stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] });
    expect(fake.requests.at(-1)).toMatchObject({
      method: 'GET',
      path: `/v1/payment_intents/${id}`,
      query: { expand: ['latest_charge'] },
      status: 200,
    });
  });
});

const HOUR = 3600_000;
const capturePath = (id: string) => `/v1/payment_intents/${id}/capture`;

describe('fake Stripe idempotency keys', () => {
  it('replays a key within 24 hours and forgets it after: a re-send then captures again', async () => {
    const id = fake.state.createPaymentIntent({ amount: 10_000, currency: 'usd' });
    const send = () => stripe.paymentIntents.capture(id, { amount_to_capture: 3_000, final_capture: false }, { idempotencyKey: 'partial-1' });
    await send();

    fake.clock.advance(23 * HOUR);
    await send();
    expect(fake.state.paymentIntents.get(id)?.amount_received).toBe(3_000);

    fake.clock.advance(1 * HOUR);
    await send();
    expect(fake.state.paymentIntents.get(id)?.amount_received).toBe(6_000);
    expect(fake.requests.filter((request) => request.path === capturePath(id)).map((request) => request.replayed)).toEqual([false, true, false]);
  });

  it('declines a re-send after expiry that Stripe cannot do twice: a full capture, a full refund', async () => {
    const id = fake.state.createPaymentIntent({ amount: 5_000, currency: 'usd' });
    await stripe.paymentIntents.capture(id, {}, { idempotencyKey: 'full-capture' });
    await stripe.refunds.create({ payment_intent: id }, { idempotencyKey: 'full-refund' });
    fake.clock.advance(25 * HOUR);

    const capture = await stripeError(stripe.paymentIntents.capture(id, {}, { idempotencyKey: 'full-capture' }));
    expect(capture).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    const refund = await stripeError(stripe.refunds.create({ payment_intent: id }, { idempotencyKey: 'full-refund' }));
    expect(refund).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' });
  });

  it('keeps keys as long as it is told to', async () => {
    const shortLived = await startFakeStripe({ idempotencyKeyTtlSeconds: 60 });
    try {
      const { secretKey, ...connection } = shortLived.connection;
      const client = new Stripe(secretKey, { ...connection, maxNetworkRetries: 0, telemetry: false });
      const id = shortLived.state.createPaymentIntent({ amount: 1_000, currency: 'usd' });
      const send = () => client.paymentIntents.capture(id, { amount_to_capture: 100, final_capture: false }, { idempotencyKey: 'k' });
      await send();
      shortLived.clock.advance(60_000);
      await send();
      expect(shortLived.state.paymentIntents.get(id)?.amount_received).toBe(200);
    } finally {
      await shortLived.close();
    }
  });

  it('saves a 500 that came after the work and replays it for the key until the key expires', async () => {
    const id = fake.state.createPaymentIntent({ amount: 5_000, currency: 'usd' });
    const send = () => stripe.paymentIntents.capture(id, {}, { idempotencyKey: 'lost-capture' });
    fake.failNext(500, { after: true, path: capturePath(id) });

    const first = await stripeError(send());
    expect(first).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(fake.state.paymentIntents.get(id)).toMatchObject({ status: 'succeeded', amount_received: 5_000 });

    const again = await stripeError(send());
    expect(again).toMatchObject({ statusCode: 500 });
    expect(fake.requests.at(-1)).toMatchObject({ replayed: true, status: 500 });

    fake.clock.advance(24 * HOUR);
    const afterExpiry = await stripeError(send());
    expect(afterExpiry).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    expect(fake.state.balanceTransactionsOf({ source: fake.state.paymentIntents.get(id)!.latest_charge! })).toHaveLength(1);
  });

  it('keeps nothing for a 500 before the work: a re-send with the key executes', async () => {
    const id = fake.state.createPaymentIntent({ amount: 5_000, currency: 'usd' });
    fake.failNext(500, { path: capturePath(id) });
    await stripeError(stripe.paymentIntents.capture(id, {}, { idempotencyKey: 'early-500' }));
    expect(fake.state.paymentIntents.get(id)?.amount_received).toBe(0);

    const intent = await stripe.paymentIntents.capture(id, {}, { idempotencyKey: 'early-500' });
    expect(intent.amount_received).toBe(5_000);
  });

  it('refuses a key while its first request is in flight with 409, then replays the first answer', async () => {
    const id = fake.state.createPaymentIntent({ amount: 5_000, currency: 'usd' });
    const gate = fake.holdNext({ path: capturePath(id) });
    const first = stripe.paymentIntents.capture(id, { amount_to_capture: 2_000 }, { idempotencyKey: 'busy' });
    await gate.arrived;

    const concurrent = await stripeError(stripe.paymentIntents.capture(id, { amount_to_capture: 2_000 }, { idempotencyKey: 'busy' }));
    expect(concurrent).toMatchObject({ statusCode: 409, code: 'idempotency_key_in_use' });
    expect(fake.state.paymentIntents.get(id)?.amount_received).toBe(0);

    gate.release();
    expect((await first).amount_received).toBe(2_000);
    const replayed = await stripe.paymentIntents.capture(id, { amount_to_capture: 2_000 }, { idempotencyKey: 'busy' });
    expect(replayed.amount_received).toBe(2_000);
    expect(fake.requests.at(-1)?.replayed).toBe(true);
  });

  it('drops connections before the work (nothing happens) or after it (the answer is kept for the key)', async () => {
    const id = fake.state.createPaymentIntent({ amount: 5_000, currency: 'usd' });
    // The SDK re-sends once after a reset connection even with retries off: two drops lose the answer.
    fake.dropNext({ path: capturePath(id), times: 2 });
    const before = await stripeError(stripe.paymentIntents.capture(id, { amount_to_capture: 1_000, final_capture: false }, { idempotencyKey: 'd1' }));
    expect(before).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(fake.state.paymentIntents.get(id)?.amount_received).toBe(0);

    fake.dropNext({ path: capturePath(id), after: true, times: 2 });
    const after = await stripeError(stripe.paymentIntents.capture(id, { amount_to_capture: 1_000, final_capture: false }, { idempotencyKey: 'd2' }));
    expect(after).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(fake.state.paymentIntents.get(id)?.amount_received).toBe(1_000);
    const sent = fake.requests.filter((request) => request.idempotencyKey === 'd2');
    expect(sent.map((request) => request.replayed)).toEqual([false, true]);
  });
});

describe('fake Stripe lists', () => {
  it('filters by created and pages newest first', async () => {
    const from = fake.clock.seconds() + 3600;
    fake.clock.advance(HOUR);
    const ids: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      ids.push(fake.state.createPaymentIntent({ amount: 1_000, currency: 'usd' }));
      fake.clock.advance(60_000);
    }

    const page = await stripe.paymentIntents.list({ created: { gte: from }, limit: 2 });
    expect(page.data.map((intent) => intent.id)).toEqual([ids[2], ids[1]]);
    expect(page.has_more).toBe(true);
    const all = await stripe.paymentIntents.list({ created: { gte: from }, limit: 2 }).autoPagingToArray({ limit: 100 });
    expect(all.map((intent) => intent.id)).toEqual([...ids].reverse());
    const upTo = await stripe.paymentIntents.list({ created: { gte: from, lte: from + 60 } });
    expect(upTo.data.map((intent) => intent.id)).toEqual([ids[1], ids[0]]);
  });

  it('lists balance transactions by created with their sources, refund failures included', async () => {
    const id = fake.state.createPaymentIntent({ amount: 4_000, currency: 'usd', captureMethod: 'automatic' });
    const refund = await stripe.refunds.create({ payment_intent: id, amount: 1_000 });
    fake.clock.advance(3 * 24 * HOUR);
    const since = fake.clock.seconds();
    fake.state.failRefund(refund.id);

    const lines = await stripe.balanceTransactions.list({ created: { gte: since }, expand: ['data.source'] });
    expect(lines.data).toHaveLength(1);
    expect(lines.data[0]).toMatchObject({ type: 'refund_failure', amount: 1_000, source: { object: 'refund', id: refund.id, payment_intent: id } });
    const older = await stripe.balanceTransactions.list({ created: { lt: since }, expand: ['data.source'], limit: 100 });
    expect(older.data.filter((line) => (line.source as Stripe.Charge | Stripe.Refund).payment_intent === id).map((line) => line.type)).toEqual([
      'refund',
      'charge',
    ]);
    const refunds = await stripe.refunds.list({ payment_intent: id, created: { gte: since } });
    expect(refunds.data).toEqual([]); // a refund is dated when it was made, not when it failed
  });

  it('counts requests per endpoint', async () => {
    const before = fake.callCounts()['GET /v1/refunds'] ?? 0;
    await stripe.refunds.list({ limit: 1 });
    await stripe.refunds.list({ limit: 1 });
    expect(fake.callCounts()['GET /v1/refunds']).toBe(before + 2);
  });
});

describe('fake Stripe objects', () => {
  it('merges capture metadata into the intent, and refuses keys over 40 characters', async () => {
    const id = fake.state.createPaymentIntent({ amount: 5_000, currency: 'usd', metadata: { invoice_id: 'inv-1' } });
    await stripe.paymentIntents.capture(id, { amount_to_capture: 1_000, final_capture: false, metadata: { cap_a: '1000' } });
    const intent = await stripe.paymentIntents.capture(id, { amount_to_capture: 2_000, final_capture: false, metadata: { cap_b: '2000' } });
    expect(intent.metadata).toEqual({ invoice_id: 'inv-1', cap_a: '1000', cap_b: '2000' });

    const error = await stripeError(stripe.paymentIntents.capture(id, { amount_to_capture: 1, metadata: { ['k'.repeat(41)]: 'x' } }));
    expect(error).toMatchObject({ statusCode: 400, code: 'parameter_invalid' });
    expect(fake.state.paymentIntents.get(id)?.amount_received).toBe(3_000);
  });

  it('applies Stripe currency rules: whole ISK krónur (×100), three-decimal amounts ending in 0', async () => {
    const isk = fake.state.createPaymentIntent({ amount: 50_000, currency: 'isk' });
    const fractional = await stripeError(stripe.paymentIntents.capture(isk, { amount_to_capture: 150 }));
    expect(fractional).toMatchObject({ statusCode: 400, code: 'invalid_charge_amount_no_decimal_compatible' });
    const kwd = fake.state.createPaymentIntent({ amount: 5_000, currency: 'kwd' });
    const fils = await stripeError(stripe.paymentIntents.capture(kwd, { amount_to_capture: 1_005 }));
    expect(fils).toMatchObject({ statusCode: 400, code: 'invalid_amount' });
    expect((await stripe.paymentIntents.capture(kwd, { amount_to_capture: 1_010 })).amount_received).toBe(1_010);
  });
});

describe('fake Stripe events', () => {
  it('records each state change in today\'s shapes, dated when it happened', async () => {
    const id = fake.state.createPaymentIntent({ amount: 10_000, currency: 'usd' });
    fake.newEvents();
    const capturedAt = fake.clock.seconds();
    await stripe.paymentIntents.capture(id, { amount_to_capture: 4_000, final_capture: false }, { idempotencyKey: 'ev-1' });
    fake.clock.advance(HOUR);
    await stripe.paymentIntents.capture(id, { amount_to_capture: 6_000 }, { idempotencyKey: 'ev-2' });
    const refund = await stripe.refunds.create({ payment_intent: id, amount: 2_500 }, { idempotencyKey: 'ev-3' });
    fake.clock.advance(HOUR);
    fake.state.failRefund(refund.id);

    const events = fake.newEvents();
    expect(events.map((event) => event.type)).toEqual([
      'charge.captured',
      'payment_intent.amount_capturable_updated',
      'charge.captured',
      'payment_intent.succeeded',
      'refund.created',
      'charge.refunded',
      'refund.updated',
      'refund.failed',
      'charge.updated',
    ]);
    expect(events[0]).toMatchObject({ created: capturedAt, request: { idempotency_key: 'ev-1' }, data: { object: { amount_captured: 4_000 } } });
    expect(events[2]?.created).toBe(capturedAt + 3600);
    const refunded = events[5]!.data.object;
    expect(refunded).toMatchObject({ object: 'charge', amount_refunded: 2_500, payment_intent: id });
    expect(refunded).not.toHaveProperty('refunds');
    expect(events[5]?.data.previous_attributes).toEqual({ amount_refunded: 0, refunded: false });
    expect(events[4]?.data.object).toMatchObject({ id: refund.id, balance_transaction: expect.stringMatching(/^txn_/) });
    expect(events[7]).toMatchObject({ request: { id: null }, data: { object: { id: refund.id, status: 'failed' } } });
    expect(events[8]?.data.object).toMatchObject({ amount_refunded: 0 });
    expect(fake.state.events.about(id).length).toBeGreaterThanOrEqual(events.length);
  });

  it('makes refunds "in the dashboard": no metadata, any reason, no API request', async () => {
    const id = fake.state.createPaymentIntent({ amount: 3_000, currency: 'eur', captureMethod: 'automatic' });
    fake.newEvents();
    const refund = fake.state.refundFromDashboard({ paymentIntentId: id, amount: 1_000, reason: 'fraudulent' });
    expect(refund).toMatchObject({ metadata: {}, reason: 'fraudulent', status: 'succeeded' });
    const events = fake.newEvents();
    expect(events.map((event) => [event.type, event.request.id])).toEqual([
      ['refund.created', null],
      ['charge.refunded', null],
    ]);
  });

  it('signs its events for the webhook endpoint like Stripe', () => {
    const id = fake.state.createPaymentIntent({ amount: 3_000, currency: 'usd', captureMethod: 'automatic' });
    const [event] = fake.state.events.about(id).filter((candidate) => candidate.type === 'payment_intent.succeeded');
    const { body, signature } = sign(event);
    expect(Stripe.webhooks.constructEvent(body, signature, WEBHOOK_SECRET)).toMatchObject({ type: 'payment_intent.succeeded' });
  });
});
