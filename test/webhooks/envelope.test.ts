import { describe, expect, it } from 'vitest';
import { readStripeEventEnvelope, stripeEventEnvelope } from '../../src/domain/processor-events/stripe-event.js';

/** The webhook's hand-written envelope check gives zod's answer (accepted or not) on every shape. */
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
