import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GatewayDeclinedError, GatewayUnavailableError } from '../../src/domain/gateway/billing-gateway-client.js';
import { SyntheticGateway, type SeedPayment, type SyntheticGatewayOptions } from '../../src/adapters/synthetic/synthetic-gateway.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { captureRequest, refundRequest } from './requests.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = new Date('2026-03-02T09:00:00.000Z');
const hash24 = (seed: string) => createHash('sha256').update(seed).digest('hex').slice(0, 24);
const intentOf = (invoiceId: string) => `pi_syn_${hash24(invoiceId)}`;

let database: TestDatabase;
const opened: SyntheticGateway[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const gateway of opened) await gateway.close();
  await database.drop();
});

async function open(options: SyntheticGatewayOptions, url = database.url): Promise<SyntheticGateway> {
  const gateway = await SyntheticGateway.open({ databaseUrl: url }, options);
  opened.push(gateway);
  return gateway;
}

/** A gateway on a clock the test moves by hand; `another()` is a second process on the same database and clock. */
async function syntheticGateway(options: Omit<SyntheticGatewayOptions, 'now'> = {}, start = START) {
  let now = start;
  const clock = () => new Date(now);
  const gateway = await open({ ...options, now: clock });
  return {
    gateway,
    now: clock,
    advance: (ms: number) => (now = new Date(now.getTime() + ms)),
    another: () => open({ ...options, now: clock }),
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (caught: unknown) => caught,
  );
}

async function declineOf(promise: Promise<unknown>): Promise<GatewayDeclinedError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(GatewayDeclinedError);
  return error as GatewayDeclinedError;
}

async function unavailableOf(promise: Promise<unknown>): Promise<GatewayUnavailableError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(GatewayUnavailableError);
  return error as GatewayUnavailableError;
}

const capturedOn = async (gateway: SyntheticGateway, paymentIntentId: string) => (await gateway.getPayment(paymentIntentId))?.amountCaptured;

describe('SyntheticGateway capture', () => {
  it('captures in full with ids derived from the request, and holds the payment as the processor', async () => {
    const { gateway, now } = await syntheticGateway();
    const request = captureRequest({ amount: 12_345 });

    const result = await gateway.capture(request);

    expect(result).toEqual({
      status: 'succeeded',
      paymentIntentId: intentOf(request.invoiceId),
      chargeId: `ch_syn_${hash24(request.idempotencyKey)}`,
      amountCaptured: 12_345,
      capturedTotal: 12_345,
      capturedAt: now(),
      settledAt: now(), // no settlement delay configured
    });
    expect(await gateway.getPayment(result.paymentIntentId)).toEqual({
      paymentIntentId: result.paymentIntentId,
      status: 'succeeded',
      currency: 'USD',
      invoiceId: request.invoiceId,
      chargeId: result.chargeId,
      amountCaptured: 12_345,
      capturedAt: now(),
      captureAttemptIds: [request.idempotencyKey],
      refunds: [],
      settledAt: now(),
    });
  });

  it('uses the payment intent it is given', async () => {
    const { gateway } = await syntheticGateway();
    const paymentIntentId = `pi_from_checkout_${randomUUID()}`;
    const result = await gateway.capture(captureRequest({ paymentIntentId }));
    expect(result.paymentIntentId).toBe(paymentIntentId);
    expect(await capturedOn(gateway, paymentIntentId)).toBe(10_000);
  });

  it('captures in parts until the final capture, with the running total, then refuses more', async () => {
    const { gateway } = await syntheticGateway();
    const invoiceId = randomUUID();
    const first = await gateway.capture(captureRequest({ invoiceId, amount: 3_000, finalCapture: false }));
    expect(first.capturedTotal).toBe(3_000);
    expect((await gateway.getPayment(first.paymentIntentId))?.status).toBe('requires_capture');

    const second = await gateway.capture(captureRequest({ invoiceId, amount: 7_000, finalCapture: true }));

    expect(second).toMatchObject({ paymentIntentId: first.paymentIntentId, amountCaptured: 7_000, capturedTotal: 10_000 });
    expect(second.chargeId).not.toBe(first.chargeId);
    expect(await gateway.getPayment(first.paymentIntentId)).toMatchObject({ status: 'succeeded', amountCaptured: 10_000, chargeId: second.chargeId });
    expect((await declineOf(gateway.capture(captureRequest({ invoiceId, amount: 1 })))).declineCode).toBe('payment_intent_unexpected_state');
    expect(await capturedOn(gateway, first.paymentIntentId)).toBe(10_000);
  });

  it('refuses a capture in another currency than the payment intent', async () => {
    const { gateway } = await syntheticGateway();
    const invoiceId = randomUUID();
    const first = await gateway.capture(captureRequest({ invoiceId, finalCapture: false }));
    expect((await declineOf(gateway.capture(captureRequest({ invoiceId, currency: 'JPY' })))).declineCode).toBe('currency_mismatch');
    expect(await capturedOn(gateway, first.paymentIntentId)).toBe(10_000);
  });

  it('stops at the authorised amount of a payment intent it was given', async () => {
    const { gateway } = await syntheticGateway();
    const invoiceId = randomUUID();
    const paymentIntentId = `pi_authorised_${invoiceId}`;
    await gateway.authorize({ paymentIntentId, invoiceId, amount: 5_000, currency: 'USD' });
    expect(await gateway.getPayment(paymentIntentId)).toMatchObject({ status: 'requires_capture', amountCaptured: 0, capturedAt: null, chargeId: null });

    await gateway.capture(captureRequest({ invoiceId, paymentIntentId, amount: 4_000, finalCapture: false }));
    const refused = await declineOf(gateway.capture(captureRequest({ invoiceId, paymentIntentId, amount: 1_001, finalCapture: false })));

    expect(refused.declineCode).toBe('amount_too_large');
    expect((await gateway.capture(captureRequest({ invoiceId, paymentIntentId, amount: 1_000 }))).capturedTotal).toBe(5_000);
  });
});

describe('SyntheticGateway idempotency keys, as Stripe keeps them', () => {
  it('answers a repeated key with the first result and moves the money once', async () => {
    const { gateway, advance } = await syntheticGateway();
    const request = captureRequest({ finalCapture: false });
    const first = await gateway.capture(request);
    advance(60_000);

    const again = await gateway.capture({ ...request });

    expect(again).toEqual(first);
    expect(await gateway.getPayment(first.paymentIntentId)).toMatchObject({ amountCaptured: request.amount, captureAttemptIds: [request.idempotencyKey] });
    expect(await gateway.listSettlements([first.paymentIntentId])).toHaveLength(1);
  });

  it('refuses a key reused for another amount, or for a refund', async () => {
    const { gateway } = await syntheticGateway();
    const request = captureRequest({ finalCapture: false });
    const first = await gateway.capture(request);

    expect((await declineOf(gateway.capture({ ...request, amount: request.amount + 1 }))).declineCode).toBe('idempotency_error');
    const asRefund = refundRequest({ invoiceId: request.invoiceId, paymentIntentId: first.paymentIntentId, idempotencyKey: request.idempotencyKey });
    expect((await declineOf(gateway.refund(asRefund))).declineCode).toBe('idempotency_error');
    expect(await gateway.getPayment(first.paymentIntentId)).toMatchObject({ amountCaptured: request.amount, refunds: [] });
  });

  it('answers a declined request with the same decline, once the failure is used up too', async () => {
    const { gateway } = await syntheticGateway();
    const request = captureRequest();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'decline', declineCode: 'insufficient_funds' });

    expect((await declineOf(gateway.capture(request))).declineCode).toBe('insufficient_funds');
    expect((await declineOf(gateway.capture(request))).declineCode).toBe('insufficient_funds');
    expect(await gateway.getPayment(intentOf(request.invoiceId))).toBeNull();

    // A new attempt (a new key) goes through.
    const retried = await gateway.capture({ ...request, idempotencyKey: randomUUID() });
    expect(retried.amountCaptured).toBe(request.amount);
  });

  it('keeps a key for its retention, then forgets it: the same request runs again as a new one', async () => {
    const { gateway, advance } = await syntheticGateway({ keyRetentionMs: DAY });
    const request = captureRequest({ amount: 2_000, finalCapture: false });
    const first = await gateway.capture(request);

    advance(DAY); // still held at exactly the retention
    expect(await gateway.capture(request)).toEqual(first);
    advance(1);
    const second = await gateway.capture(request);

    expect(second.chargeId).not.toBe(first.chargeId);
    expect(second.capturedTotal).toBe(4_000);
    expect(await gateway.getPayment(first.paymentIntentId)).toMatchObject({
      amountCaptured: 4_000,
      captureAttemptIds: [request.idempotencyKey, request.idempotencyKey],
    });
    // The forgotten key holds the new outcome now.
    expect(await gateway.capture(request)).toEqual(second);
  });

  it('forgets a stored decline after the retention, and the request then succeeds', async () => {
    const { gateway, advance } = await syntheticGateway({ keyRetentionMs: HOUR });
    const request = captureRequest();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'decline' });
    expect((await declineOf(gateway.capture(request))).declineCode).toBe('card_declined');

    advance(HOUR + 1);

    expect((await gateway.capture(request)).amountCaptured).toBe(request.amount);
  });

  it('answers "in use" to a request whose key a concurrent request holds, and runs the money once', async () => {
    // Long enough that the concurrent request surely arrives while the first holds its key, on a loaded machine too.
    const { gateway } = await syntheticGateway({ latencyMs: 1_500 });
    const request = captureRequest({ finalCapture: false });
    const first = gateway.capture(request);
    await vi.waitFor(
      async () => {
        const [{ held }] = await database.sql<[{ held: number }]>`
          SELECT count(*)::int AS held FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'billing-ledger synthetic gateway'
            AND a.datname = current_database()`;
        expect(held).toBe(1);
      },
      { timeout: 5_000, interval: 10 },
    );

    const concurrent = await unavailableOf(gateway.capture(request));

    expect(concurrent.message).toMatch(/in use/);
    const result = await first;
    gateway.latencyMs = 0;
    expect(await gateway.capture(request)).toEqual(result);
    expect(await gateway.getPayment(result.paymentIntentId)).toMatchObject({ amountCaptured: request.amount, captureAttemptIds: [request.idempotencyKey] });
  });
});

describe('SyntheticGateway concurrency', () => {
  it('never captures past the authorisation under concurrent partial captures', async () => {
    const { gateway } = await syntheticGateway({ latencyMs: 50 });
    const invoiceId = randomUUID();
    const paymentIntentId = `pi_concurrent_${invoiceId}`;
    await gateway.authorize({ paymentIntentId, invoiceId, amount: 10_000, currency: 'USD' });

    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => gateway.capture(captureRequest({ invoiceId, paymentIntentId, amount: 3_000, finalCapture: false }))),
    );

    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    expect(refusals.map((error) => (error as GatewayDeclinedError).declineCode)).toEqual(Array(7).fill('amount_too_large'));
    expect(await gateway.getPayment(paymentIntentId)).toMatchObject({ amountCaptured: 9_000, captureAttemptIds: expect.any(Array) });
    expect((await gateway.getPayment(paymentIntentId))?.captureAttemptIds).toHaveLength(3);
  });

  // The latency holds each request after its key is taken, so that they meet at the payment's row lock.
  it('makes one final capture of concurrent ones', async () => {
    const { gateway } = await syntheticGateway({ latencyMs: 50 });
    const invoiceId = randomUUID();
    await gateway.capture(captureRequest({ invoiceId, amount: 500, finalCapture: false }));

    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => gateway.capture(captureRequest({ invoiceId, amount: 1_000 }))));

    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of outcomes.filter((each) => each.status === 'rejected')) {
      expect((outcome.reason as GatewayDeclinedError).declineCode).toBe('payment_intent_unexpected_state');
    }
    expect(await gateway.getPayment(intentOf(invoiceId))).toMatchObject({ status: 'succeeded', amountCaptured: 1_500 });
  });

  it('creates one payment intent for concurrent first captures of one invoice', async () => {
    const { gateway } = await syntheticGateway({ latencyMs: 50 });
    const invoiceId = randomUUID();

    const results = await Promise.all(Array.from({ length: 4 }, () => gateway.capture(captureRequest({ invoiceId, amount: 1_000, finalCapture: false }))));

    expect(new Set(results.map((result) => result.paymentIntentId))).toEqual(new Set([intentOf(invoiceId)]));
    expect(results.map((result) => result.capturedTotal).sort()).toEqual([1_000, 2_000, 3_000, 4_000]);
    expect(await capturedOn(gateway, intentOf(invoiceId))).toBe(4_000);
  });

  it('never refunds more than was captured under concurrent refunds', async () => {
    const { gateway } = await syntheticGateway({ latencyMs: 50 });
    const request = captureRequest({ amount: 10_000 });
    const capture = await gateway.capture(request);

    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, () => gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: capture.paymentIntentId, amount: 4_000 }))),
    );

    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(2);
    for (const outcome of outcomes.filter((each) => each.status === 'rejected')) {
      expect((outcome.reason as GatewayDeclinedError).declineCode).toBe('amount_too_large');
    }
    const payment = await gateway.getPayment(capture.paymentIntentId);
    expect(payment?.refunds.map((refund) => refund.amount)).toEqual([4_000, 4_000]);
  });
});

describe('SyntheticGateway across processes and restarts', () => {
  it('a second gateway on the same database sees the same payments and keys, but not the first one’s failure plan', async () => {
    const { gateway, another } = await syntheticGateway();
    const request = captureRequest({ amount: 6_000 });
    const capture = await gateway.capture(request);
    const refund = await gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: capture.paymentIntentId, amount: 1_000 }));
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'unavailable' });
    const before = await gateway.getPayment(capture.paymentIntentId);
    await gateway.close();
    opened.splice(opened.indexOf(gateway), 1);

    const restarted = await another();

    expect(await restarted.getPayment(capture.paymentIntentId)).toEqual(before);
    expect(before?.refunds).toEqual([refund]);
    expect(await restarted.capture(request)).toEqual(capture);
    expect((await declineOf(restarted.capture({ ...request, amount: 1 }))).declineCode).toBe('idempotency_error');
  });

  it('creates its schema once when several processes start on a new database together', async () => {
    const fresh = await createTestDatabase();
    try {
      const gateways = await Promise.all([1, 2, 3].map(() => SyntheticGateway.open({ databaseUrl: fresh.url }, { now: () => START })));
      try {
        const request = captureRequest();
        const capture = await gateways[0]!.capture(request);
        expect(await capturedOn(gateways[2]!, capture.paymentIntentId)).toBe(request.amount);
      } finally {
        for (const gateway of gateways) await gateway.close();
      }
      expect(await fresh.sql`SELECT step FROM synthetic_gateway.schema_steps ORDER BY step`).toEqual([{ step: 1 }]);
      // The app's own tables are untouched: the processor lives in its own schema.
      const [{ tables }] = await fresh.sql<[{ tables: string[] }]>`
        SELECT array_agg(table_name::text ORDER BY table_name) AS tables FROM information_schema.tables WHERE table_schema = 'synthetic_gateway'`;
      expect(tables).toEqual(['captures', 'idempotency_keys', 'payment_intents', 'refunds', 'schema_steps', 'settlement_lines']);
    } finally {
      await fresh.drop();
    }
  });
});

describe('SyntheticGateway failures on demand', () => {
  it('is unavailable without doing or storing anything, and the same key then succeeds', async () => {
    const { gateway } = await syntheticGateway();
    const request = captureRequest();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'unavailable', times: 2 });

    await unavailableOf(gateway.capture(request));
    await unavailableOf(gateway.capture(request));
    expect(await gateway.getPayment(intentOf(request.invoiceId))).toBeNull();

    expect((await gateway.capture(request)).amountCaptured).toBe(request.amount);
  });

  it('answers 500 before doing anything (error_before): nothing done or stored, the same key then succeeds', async () => {
    const { gateway } = await syntheticGateway();
    const request = captureRequest();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'error_before' });

    expect((await unavailableOf(gateway.capture(request))).message).toMatch(/500 before/);
    expect(await gateway.getPayment(intentOf(request.invoiceId))).toBeNull();

    expect((await gateway.capture(request)).amountCaptured).toBe(request.amount);
  });

  it('loses the answer after capturing; the same key then returns the stored success', async () => {
    const { gateway } = await syntheticGateway();
    const request = captureRequest();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'timeout_after_success' });

    await unavailableOf(gateway.capture(request));
    const paymentIntentId = intentOf(request.invoiceId);
    expect(await capturedOn(gateway, paymentIntentId)).toBe(request.amount);

    const result = await gateway.capture(request);
    expect(result).toMatchObject({ paymentIntentId, chargeId: `ch_syn_${hash24(request.idempotencyKey)}`, capturedTotal: request.amount });
    expect(await capturedOn(gateway, paymentIntentId)).toBe(request.amount);
  });

  it('captures, answers 500 and stores it (error_after_success): a re-send gets the same 500; after the key expires a final capture is declined', async () => {
    const { gateway, advance } = await syntheticGateway({ keyRetentionMs: DAY });
    const request = captureRequest({ amount: 5_000 });
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'error_after_success' });

    const answered = await unavailableOf(gateway.capture(request));
    const again = await unavailableOf(gateway.capture(request));

    expect(again.message).toBe(answered.message);
    expect(answered.message).toMatch(/500 after/);
    const paymentIntentId = intentOf(request.invoiceId);
    expect(await gateway.getPayment(paymentIntentId)).toMatchObject({ amountCaptured: 5_000, captureAttemptIds: [request.idempotencyKey] });

    // As at Stripe: the key forgotten, the processor holds 5000 and declines the re-sent final capture.
    advance(DAY + 1);
    expect((await declineOf(gateway.capture(request))).declineCode).toBe('payment_intent_unexpected_state');
    expect(await capturedOn(gateway, paymentIntentId)).toBe(5_000);
  });

  it('lets a re-send of a stored request meet only the failures in front of the processor', async () => {
    const { gateway } = await syntheticGateway();
    const request = captureRequest({ finalCapture: false });
    const first = await gateway.capture(request);
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'decline' });
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'error_after_success' });
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'timeout_after_success' });

    await unavailableOf(gateway.capture(request)); // the lost answer: the decline and the 500 do not apply to a replay
    expect(await gateway.capture(request)).toEqual(first);

    // They are still planned for the next new request.
    expect((await declineOf(gateway.capture(captureRequest({ invoiceId: request.invoiceId })))).declineCode).toBe('card_declined');
  });

  it('fails only the invoice and operation it was asked for', async () => {
    const { gateway } = await syntheticGateway();
    const request = captureRequest();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'refund', mode: 'unavailable' });
    gateway.injectFailure({ invoiceId: randomUUID(), operation: 'capture', mode: 'unavailable' });

    const captured = await gateway.capture(request);
    await unavailableOf(gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: captured.paymentIntentId })));
    gateway.clearFailures();
    expect((await gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: captured.paymentIntentId }))).status).toBe('succeeded');
  });

  it('takes a latency that tests turn up and down, and refuses a negative one', async () => {
    const { gateway } = await syntheticGateway({ latencyMs: 5 });
    expect(gateway.latencyMs).toBe(5);
    gateway.latencyMs = 0;
    expect(gateway.latencyMs).toBe(0);
    expect(() => (gateway.latencyMs = -1)).toThrow(RangeError);
  });
});

describe('SyntheticGateway refunds', () => {
  async function captured(amount = 10_000) {
    const context = await syntheticGateway();
    const request = captureRequest({ amount });
    const capture = await context.gateway.capture(request);
    const refund = (overrides: Partial<Parameters<typeof refundRequest>[0]> = {}) =>
      context.gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: capture.paymentIntentId, ...overrides }));
    return { ...context, request, capture, refund };
  }

  it('refunds in parts up to what was captured, then declines', async () => {
    const { gateway, capture, refund, now } = await captured(10_000);
    const key = randomUUID();

    const partial = await refund({ amount: 4_000, idempotencyKey: key, reason: 'GOODWILL' });

    expect(partial).toEqual({
      id: `re_syn_${hash24(key)}`,
      paymentIntentId: capture.paymentIntentId,
      chargeId: capture.chargeId,
      amount: 4_000,
      currency: 'USD',
      status: 'succeeded',
      attemptId: key,
      reason: 'GOODWILL',
      failureReason: null,
      createdAt: now(),
    });
    await refund({ amount: 6_000 });
    expect((await declineOf(refund({ amount: 1 }))).declineCode).toBe('amount_too_large');
    const payment = await gateway.getPayment(capture.paymentIntentId);
    expect(payment?.refunds.map((each) => [each.amount, each.status])).toEqual([
      [4_000, 'succeeded'],
      [6_000, 'succeeded'],
    ]);
    expect(payment?.refunds[0]).toEqual(partial);
  });

  it('replays a refund for the same key instead of refunding twice', async () => {
    const { gateway, capture, refund } = await captured();
    const key = randomUUID();
    const first = await refund({ amount: 2_500, idempotencyKey: key });
    expect(await refund({ amount: 2_500, idempotencyKey: key })).toEqual(first);
    expect((await gateway.getPayment(capture.paymentIntentId))?.refunds).toEqual([first]);
  });

  it('loses a refund answer after refunding; the same key returns it', async () => {
    const { gateway, request, capture, refund } = await captured();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'refund', mode: 'timeout_after_success' });
    const key = randomUUID();

    await unavailableOf(refund({ amount: 1_500, idempotencyKey: key }));
    expect((await gateway.getPayment(capture.paymentIntentId))?.refunds.map((each) => each.id)).toEqual([`re_syn_${hash24(key)}`]);
    expect((await refund({ amount: 1_500, idempotencyKey: key })).id).toBe(`re_syn_${hash24(key)}`);
    expect((await gateway.getPayment(capture.paymentIntentId))?.refunds).toHaveLength(1);
  });

  it('declines a refund for a payment intent it does not know', async () => {
    const { gateway } = await syntheticGateway();
    const refused = await declineOf(gateway.refund(refundRequest({ invoiceId: randomUUID(), paymentIntentId: 'pi_unknown' })));
    expect(refused.declineCode).toBe('resource_missing');
  });

  it('fails a refund after the fact (failRefund): refundable again, off the statement, reported as activity', async () => {
    const { gateway, capture, refund, advance, now } = await captured(5_000);
    const made = await refund({ amount: 5_000 });
    advance(HOUR);

    await gateway.failRefund(made.id);
    await gateway.failRefund(made.id); // already failed: nothing changes

    const payment = await gateway.getPayment(capture.paymentIntentId);
    expect(payment?.refunds).toEqual([{ ...made, status: 'failed', failureReason: 'expired_or_canceled_card' }]);
    expect((await gateway.listSettlements([capture.paymentIntentId])).map((line) => line.type)).toEqual(['charge']);
    expect(await gateway.listActivity(now())).toContain(capture.paymentIntentId);
    expect((await refund({ amount: 5_000 })).status).toBe('succeeded');
    await expect(gateway.failRefund('re_syn_never_made')).rejects.toThrow(/made no refund/);
  });

  it('records a refund made outside the service (refundOutside), with no attempt id', async () => {
    const { gateway, capture, refund, now } = await captured(10_000);
    await refund({ amount: 1_000 });

    const outside = await gateway.refundOutside(capture.paymentIntentId, 2_000, 'FRAUDULENT');
    const another = await gateway.refundOutside(capture.paymentIntentId, 3_000);

    expect(outside).toEqual({
      id: expect.stringMatching(/^re_syn_[0-9a-f]{24}$/),
      paymentIntentId: capture.paymentIntentId,
      chargeId: capture.chargeId,
      amount: 2_000,
      currency: 'USD',
      status: 'succeeded',
      attemptId: null,
      reason: 'FRAUDULENT',
      failureReason: null,
      createdAt: now(),
    });
    expect(another.id).not.toBe(outside.id);
    expect(another.reason).toBe('REQUESTED_BY_CUSTOMER');
    const payment = await gateway.getPayment(capture.paymentIntentId);
    expect(payment?.refunds.slice(1)).toEqual([outside, another]);
    await expect(gateway.refundOutside(capture.paymentIntentId, 4_001)).rejects.toThrow(/exceeds the 4000 refundable/);
    await expect(gateway.refundOutside('pi_unknown', 1)).rejects.toThrow(/knows no payment intent/);
  });
});

describe('SyntheticGateway activity', () => {
  it('lists each payment intent touched (created, captured, refunded, refund failed) at or after the time asked', async () => {
    // A clock of its own, later than every other test's, so only this test's payments are in the window.
    const { gateway, advance, now } = await syntheticGateway({}, new Date('2031-01-01T00:00:00.000Z'));
    const old = captureRequest({ amount: 4_000, finalCapture: false });
    const oldCapture = await gateway.capture(old);
    const oldRefund = await gateway.refund(refundRequest({ invoiceId: old.invoiceId, paymentIntentId: oldCapture.paymentIntentId, amount: 500 }));
    advance(HOUR);
    const since = now();
    const recent = await gateway.capture(captureRequest({ finalCapture: false }));
    advance(1);
    const authorisedOnly = `pi_authorised_${randomUUID()}`;
    await gateway.authorize({ paymentIntentId: authorisedOnly, invoiceId: null, amount: 100, currency: 'USD' });

    expect(await gateway.listActivity(since)).toEqual([recent.paymentIntentId, authorisedOnly]);

    advance(HOUR);
    const later = now();
    await gateway.capture(captureRequest({ invoiceId: old.invoiceId, amount: 100, finalCapture: false }));
    await gateway.refundOutside(recent.paymentIntentId, 1);
    expect(new Set(await gateway.listActivity(later))).toEqual(new Set([oldCapture.paymentIntentId, recent.paymentIntentId]));

    advance(HOUR);
    const afterFailure = now();
    await gateway.failRefund(oldRefund.id);
    expect(await gateway.listActivity(afterFailure)).toEqual([oldCapture.paymentIntentId]);
    advance(1);
    expect(await gateway.listActivity(now())).toEqual([]);
  });
});

describe('SyntheticGateway settlement', () => {
  it('settles captures and refunds after the configured delay', async () => {
    const { gateway, advance, now } = await syntheticGateway({ settlementDelayMs: 2 * HOUR });
    const request = captureRequest({ amount: 8_000 });
    const capture = await gateway.capture(request);
    expect(capture.settledAt).toBeNull();
    advance(HOUR);
    await gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: capture.paymentIntentId, amount: 3_000 }));

    expect((await gateway.getPayment(capture.paymentIntentId))?.settledAt).toBeNull();
    expect(await gateway.listSettlements([capture.paymentIntentId])).toEqual([]);

    advance(HOUR); // the capture has settled, the refund not yet
    const settledAt = new Date(capture.capturedAt.getTime() + 2 * HOUR);
    expect((await gateway.getPayment(capture.paymentIntentId))?.settledAt).toEqual(settledAt);
    expect(await gateway.listSettlements([capture.paymentIntentId])).toEqual([
      { paymentIntentId: capture.paymentIntentId, id: `txn_syn_${hash24(request.idempotencyKey)}`, type: 'charge', amount: 8_000, currency: 'USD', availableOn: settledAt },
    ]);

    advance(HOUR);
    const lines = await gateway.listSettlements([capture.paymentIntentId]);
    expect(lines.map((line) => [line.type, line.amount])).toEqual([
      ['charge', 8_000],
      ['refund', -3_000],
    ]);
    expect(lines[1]?.availableOn).toEqual(now());
  });

  it('lists the lines of several payment intents in the order asked, once each, and ignores unknown ones', async () => {
    const { gateway } = await syntheticGateway();
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const first = await gateway.capture(captureRequest({ invoiceId: a, amount: 1_000, finalCapture: false }));
    await gateway.capture(captureRequest({ invoiceId: a, amount: 500 }));
    const second = await gateway.capture(captureRequest({ invoiceId: b, amount: 2_000 }));
    await gateway.refund(refundRequest({ invoiceId: b, paymentIntentId: second.paymentIntentId, amount: 700 }));
    await gateway.capture(captureRequest({ invoiceId: c, amount: 9_999 }));

    const lines = await gateway.listSettlements([second.paymentIntentId, first.paymentIntentId, 'pi_unknown', second.paymentIntentId]);

    expect(lines.map((line) => [line.paymentIntentId, line.type, line.amount])).toEqual([
      [second.paymentIntentId, 'charge', 2_000],
      [second.paymentIntentId, 'refund', -700],
      [first.paymentIntentId, 'charge', 1_000],
      [first.paymentIntentId, 'charge', 500],
    ]);
    expect(new Set(lines.map((line) => line.id)).size).toBe(4);
    expect(await gateway.listSettlements([])).toEqual([]);
  });

  it('lets a test mark a payment settled now', async () => {
    const { gateway, now } = await syntheticGateway({ settlementDelayMs: 48 * HOUR });
    const capture = await gateway.capture(captureRequest());
    await gateway.markSettled(capture.paymentIntentId);
    expect((await gateway.getPayment(capture.paymentIntentId))?.settledAt).toEqual(now());
    expect(await gateway.listSettlements([capture.paymentIntentId])).toHaveLength(1);
  });

  it('does not know payment intents it never saw', async () => {
    const { gateway } = await syntheticGateway();
    expect(await gateway.getPayment('pi_never_seen')).toBeNull();
  });
});

describe('SyntheticGateway units', () => {
  it('keeps amounts up to 2^53-1 minor units exactly, in the currency asked', async () => {
    const { gateway } = await syntheticGateway();
    const request = captureRequest({ amount: Number.MAX_SAFE_INTEGER, currency: 'KWD' });

    const capture = await gateway.capture(request);
    const refund = await gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: capture.paymentIntentId, amount: Number.MAX_SAFE_INTEGER - 1, currency: 'KWD' }));

    expect(capture.capturedTotal).toBe(Number.MAX_SAFE_INTEGER);
    expect(refund).toMatchObject({ amount: Number.MAX_SAFE_INTEGER - 1, currency: 'KWD' });
    expect(await gateway.getPayment(capture.paymentIntentId)).toMatchObject({ amountCaptured: Number.MAX_SAFE_INTEGER, currency: 'KWD' });
    expect((await gateway.listSettlements([capture.paymentIntentId])).map((line) => [line.amount, line.currency])).toEqual([
      [Number.MAX_SAFE_INTEGER, 'KWD'],
      [-(Number.MAX_SAFE_INTEGER - 1), 'KWD'],
    ]);
    expect((await gateway.paymentTotals()).find((totals) => totals.paymentIntentId === capture.paymentIntentId)).toMatchObject({
      captured: Number.MAX_SAFE_INTEGER,
      refunded: Number.MAX_SAFE_INTEGER - 1,
    });
  });

  it('declines amounts that are not positive whole minor units, and currencies that are not ISO codes', async () => {
    const { gateway } = await syntheticGateway();
    for (const amount of [0, -5, 10.5, Number.MAX_SAFE_INTEGER + 1]) {
      expect((await declineOf(gateway.capture(captureRequest({ amount })))).declineCode).toBe('parameter_invalid_integer');
    }
    const lowerCase = captureRequest({ currency: 'usd' });
    expect((await declineOf(gateway.capture(lowerCase))).declineCode).toBe('parameter_invalid');
    expect(await gateway.getPayment(intentOf(lowerCase.invoiceId))).toBeNull();
  });
});

describe('SyntheticGateway for ledger verify and benchmarks', () => {
  it('reports what it holds per payment: captured, refunded by succeeded refunds, and the refund ids', async () => {
    const { gateway } = await syntheticGateway();
    const request = captureRequest({ amount: 9_000, currency: 'JPY' });
    const capture = await gateway.capture(request);
    const ours = await gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: capture.paymentIntentId, amount: 1_000, currency: 'JPY' }));
    const failed = await gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: capture.paymentIntentId, amount: 2_000, currency: 'JPY' }));
    await gateway.failRefund(failed.id);
    const outside = await gateway.refundOutside(capture.paymentIntentId, 500);

    const totals = (await gateway.paymentTotals()).find((each) => each.paymentIntentId === capture.paymentIntentId);

    expect(totals).toEqual({
      paymentIntentId: capture.paymentIntentId,
      invoiceId: request.invoiceId,
      currency: 'JPY',
      captured: 9_000,
      refunded: 1_500,
      refundIds: [ours.id, outside.id],
      failedRefundIds: [failed.id],
    });
  });

  it('loads payments in bulk, and answers activity and settlements for them through its indexes', async () => {
    // Later than every other test's clock, so the activity asked for is only these payments'.
    const base = new Date('2040-01-01T00:00:00.000Z').getTime();
    const { gateway } = await syntheticGateway({}, new Date(base));
    const prefix = `pi_seed_${randomUUID().slice(0, 8)}_`;
    const payments: SeedPayment[] = Array.from({ length: 10_000 }, (_, index) => ({
      paymentIntentId: `${prefix}${index}`,
      invoiceId: randomUUID(),
      currency: 'USD',
      amountCaptured: 1_000 + index,
      capturedAt: new Date(base - (10_000 - index) * 60_000),
      amountRefunded: index % 10 === 0 ? 100 : 0,
    }));

    await gateway.seedPayments(payments);

    const last = payments.at(-1)!;
    expect(await gateway.getPayment(last.paymentIntentId)).toMatchObject({
      status: 'succeeded',
      invoiceId: last.invoiceId,
      amountCaptured: last.amountCaptured,
      capturedAt: last.capturedAt,
      captureAttemptIds: [`seed:${last.paymentIntentId}`],
      settledAt: last.capturedAt,
    });
    const refunded = payments[9_990]!;
    expect((await gateway.getPayment(refunded.paymentIntentId))?.refunds.map((refund) => [refund.amount, refund.attemptId])).toEqual([[100, null]]);
    expect(await gateway.listActivity(payments[9_998]!.capturedAt)).toEqual([payments[9_998]!.paymentIntentId, last.paymentIntentId]);
    expect((await gateway.listSettlements([refunded.paymentIntentId])).map((line) => line.amount)).toEqual([refunded.amountCaptured, -100]);

    await database.sql`ANALYZE synthetic_gateway.payment_intents`;
    await database.sql`ANALYZE synthetic_gateway.settlement_lines`;
    const plan = async (query: string, parameters: (string | string[])[]) =>
      JSON.stringify(await database.sql.unsafe(`EXPLAIN (FORMAT JSON) ${query}`, parameters));
    expect(await plan('SELECT id FROM synthetic_gateway.payment_intents WHERE last_activity_at >= $1', [last.capturedAt.toISOString()])).toContain(
      'payment_intents_last_activity_at',
    );
    expect(
      await plan('SELECT id FROM synthetic_gateway.settlement_lines WHERE payment_intent_id = ANY($1::text[]) ORDER BY payment_intent_id, seq', [
        [refunded.paymentIntentId, last.paymentIntentId],
      ]),
    ).toContain('settlement_lines_payment_intent_id');
  });
});
