import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processorEvents } from '../../src/db/schema/index.js';
import { makeInvoice, makeWorkspace } from '../support/factories.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliver, newPayment, sign, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

const ROTATED_SECRET = 'whsec_test_next';
let service: TestService;
let invoiceId: string;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: `${WEBHOOK_SECRET},${ROTATED_SECRET}` });
  invoiceId = (await makeInvoice(service.deps.db, (await makeWorkspace(service.deps.db)).id, { amountDue: 5_000 })).id;
});
afterAll(() => service.close());

const storedEvents = async () => (await service.deps.db.select({ n: count() }).from(processorEvents))[0]!.n;
const capturedEvent = () => stripeEvent('charge.captured', charge(newPayment(invoiceId, 5_000), 5_000));

describe('POST /webhooks/stripe refuses what Stripe did not sign, and stores nothing', () => {
  it.each([
    ['a tampered body', () => {
      const delivery = sign(capturedEvent());
      return { ...delivery, body: delivery.body.replace('"amount_captured":5000', '"amount_captured":50') };
    }, 'invalid signature'],
    ['another secret', () => sign(capturedEvent(), { secret: 'whsec_attacker' }), 'invalid signature'],
    ['a stale timestamp (over 300 s old)', () => sign(capturedEvent(), { timestamp: Math.floor(Date.now() / 1000) - 301 }), 'invalid signature'],
    ['a timestamp a day in the future', () => sign(capturedEvent(), { timestamp: Math.floor(Date.now() / 1000) + 86_400 }), 'signature timestamp is in the future'],
    ['a timestamp over 300 s in the future', () => sign(capturedEvent(), { timestamp: Math.floor(Date.now() / 1000) + 360 }), 'signature timestamp is in the future'],
    ['no Stripe-Signature header', () => ({ body: JSON.stringify(capturedEvent()) }), 'missing Stripe-Signature header'],
    ['a garbage signature header', () => ({ body: JSON.stringify(capturedEvent()), signature: 't=1,v1=abc' }), 'invalid signature'],
    ['a signed body that is not JSON', () => sign('{"id": "evt_1", '), 'body is not valid JSON'],
    ['a signed body that is not an event', () => sign({ hello: 'world' }), 'not a Stripe event'],
  ])('%s → 400', async (_label, make, error) => {
    const before = await storedEvents();
    const response = await deliver(service.url, make());
    expect(response).toEqual({ status: 400, body: { status: 'rejected', error } });
    expect(await storedEvents()).toBe(before);
  });

  it('an oversized body (over 1 MiB) → 413', async () => {
    const before = await storedEvents();
    const event = stripeEvent('charge.captured', { ...charge(newPayment(invoiceId, 5_000), 5_000), padding: 'x'.repeat(1024 * 1024) });
    const response = await deliver(service.url, sign(event));
    expect(response.status).toBe(413);
    expect(await storedEvents()).toBe(before);
  });

  it('accepts a timestamp a little ahead (clock skew within the tolerance)', async () => {
    const response = await deliver(service.url, sign(stripeEvent('customer.created', { id: 'cus_2', object: 'customer' }), { timestamp: Math.floor(Date.now() / 1000) + 60 }));
    expect(response).toEqual({ status: 200, body: { status: 'ignored' } });
  });

  it('accepts either secret during a rotation', async () => {
    const first = await deliver(service.url, sign(stripeEvent('customer.created', { id: 'cus_1', object: 'customer' })));
    const second = await deliver(service.url, sign(stripeEvent('customer.updated', { id: 'cus_1', object: 'customer' }), { secret: ROTATED_SECRET }));
    expect(first).toEqual({ status: 200, body: { status: 'ignored' } });
    expect(second).toEqual({ status: 200, body: { status: 'ignored' } });
  });
});
