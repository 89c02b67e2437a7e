import { describe, expect, it } from 'vitest';
import { readStripeEventEnvelope, stripeEventEnvelope } from '../../src/domain/processor-events/stripe-event.js';
import { parseStripeObject, readPaymentIntent, stripePaymentIntent } from '../../src/domain/processor-events/stripe-objects.js';

/** The webhook path's hand-written checks give zod's answers (the envelope, the payment intent). */
const good = { id: 'evt_1', object: 'event', type: 'charge.captured', created: 1_700_000_000, data: { object: { id: 'ch_1', metadata: {} } }, request: { id: 'req_1', idempotency_key: null } };
const cases: [string, unknown][] = [
  ['a whole event', good],
  ['no request', { ...good, request: undefined }],
  ['request null', { ...good, request: null }],
  ['request without ids', { ...good, request: {} }],
  ['request id a number', { ...good, request: { id: 1 } }],
  ['idempotency key an object', { ...good, request: { idempotency_key: {} } }],
  ['request an array', { ...good, request: [] }],
  ['request a string', { ...good, request: 'req_1' }],
  ['empty id', { ...good, id: '' }],
  ['id of 255', { ...good, id: 'x'.repeat(255) }],
  ['id of 256', { ...good, id: 'x'.repeat(256) }],
  ['id a number', { ...good, id: 1 }],
  ['no type', { ...good, type: undefined }],
  ['type of 256', { ...good, type: 't'.repeat(256) }],
  ['object not event', { ...good, object: 'charge' }],
  ['created a float', { ...good, created: 1.5 }],
  ['created a string', { ...good, created: '1700000000' }],
  ['created beyond a safe integer', { ...good, created: 2 ** 60 }],
  ['created NaN', { ...good, created: Number.NaN }],
  ['no data', { ...good, data: undefined }],
  ['data an array', { ...good, data: [] }],
  ['data.object an array', { ...good, data: { object: [] } }],
  ['data.object null', { ...good, data: { object: null } }],
  ['data.object a string', { ...good, data: { object: 'ch_1' } }],
  ['previous attributes', { ...good, data: { ...good.data, previous_attributes: { amount: 1 } } }],
  ['extra keys', { ...good, livemode: false, api_version: '2025-09-30.clover' }],
  ['an array', [good]],
  ['null', null],
  ['a string', 'evt_1'],
];

describe('readStripeEventEnvelope', () => {
  it.each(cases)('%s: the same answer as the zod envelope', (_name, value) => {
    const parsed = JSON.parse(JSON.stringify(value ?? null)) as unknown;
    expect(readStripeEventEnvelope(parsed) !== undefined).toBe(stripeEventEnvelope.safeParse(parsed).success);
  });

  it('returns the event itself, nothing copied', () => {
    const event = JSON.parse(JSON.stringify(good)) as unknown;
    expect(readStripeEventEnvelope(event)).toBe(event);
  });
});

const intent = {
  id: 'pi_1',
  object: 'payment_intent',
  amount: 10_000,
  amount_received: 10_000,
  currency: 'usd',
  latest_charge: 'ch_1',
  status: 'succeeded',
  created: 1_700_000_000,
  metadata: { invoice_id: '00000000-0000-4000-8000-000000000000' },
  last_payment_error: null,
  cancellation_reason: null,
  livemode: false,
};
const intents: [string, unknown][] = [
  ['a whole intent', intent],
  ['no metadata', { ...intent, metadata: undefined }],
  ['metadata null', { ...intent, metadata: null }],
  ['a metadata value a number', { ...intent, metadata: { n: 1 } }],
  ['metadata an array', { ...intent, metadata: [] }],
  ['latest charge expanded', { ...intent, latest_charge: { id: 'ch_2', object: 'charge' } }],
  ['latest charge expanded without id', { ...intent, latest_charge: { object: 'charge' } }],
  ['no latest charge', { ...intent, latest_charge: undefined }],
  ['latest charge a number', { ...intent, latest_charge: 1 }],
  ['a payment error', { ...intent, last_payment_error: { code: 'card_declined', message: 'declined', type: 'card_error' } }],
  ['a payment error code a number', { ...intent, last_payment_error: { code: 1 } }],
  ['a payment error a string', { ...intent, last_payment_error: 'declined' }],
  ['a cancellation reason', { ...intent, cancellation_reason: 'abandoned' }],
  ['a cancellation reason a number', { ...intent, cancellation_reason: 1 }],
  ['not a pi_ id', { ...intent, id: 'ch_1' }],
  ['another object', { ...intent, object: 'charge' }],
  ['a negative amount', { ...intent, amount: -1 }],
  ['a float amount', { ...intent, amount_received: 1.5 }],
  ['an amount beyond a safe integer', { ...intent, amount: 2 ** 60 }],
  ['a long currency', { ...intent, currency: 'usdx' }],
  ['no status', { ...intent, status: undefined }],
  ['created a float', { ...intent, created: 1.5 }],
  ['an array', [intent]],
  ['null', null],
];

describe('readPaymentIntent', () => {
  it.each(intents)('%s: what stripePaymentIntent gives, or nothing when it refuses', (_name, value) => {
    const parsed = JSON.parse(JSON.stringify(value ?? null)) as unknown;
    const expected = stripePaymentIntent.safeParse(parsed);
    const got = readPaymentIntent(parsed);
    if (!expected.success) expect(got).toBeUndefined();
    else {
      expect(got).toEqual(expected.data);
      expect(parseStripeObject(stripePaymentIntent, parsed, 'payment_intent')).toEqual(expected.data);
    }
  });
});
