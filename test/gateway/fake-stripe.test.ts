import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe/server.js';

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
