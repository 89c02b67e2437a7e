import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GatewayDeclinedError, GatewayUnavailableError } from '../../src/domain/gateway/billing-gateway-client.js';
import { SyntheticGateway, type SyntheticGatewayOptions } from '../../src/adapters/synthetic/synthetic-gateway.js';
import { captureRequest, refundRequest } from './requests.js';

const HOUR = 3_600_000;
const hash24 = (seed: string) => createHash('sha256').update(seed).digest('hex').slice(0, 24);

/** A gateway on a clock the test moves by hand. */
function syntheticGateway(options: Omit<SyntheticGatewayOptions, 'now'> = {}) {
  let now = new Date('2026-03-02T09:00:00.000Z');
  const gateway = new SyntheticGateway({ ...options, now: () => new Date(now) });
  return {
    gateway,
    now: () => new Date(now),
    advance: (ms: number) => (now = new Date(now.getTime() + ms)),
  };
}

async function declineOf(promise: Promise<unknown>): Promise<GatewayDeclinedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GatewayDeclinedError);
  return error as GatewayDeclinedError;
}

describe('SyntheticGateway capture', () => {
  it('captures in full with ids derived from the request', async () => {
    const { gateway, now } = syntheticGateway();
    const request = captureRequest({ amount: 12_345 });

    const result = await gateway.capture(request);

    expect(result).toEqual({
      status: 'succeeded',
      paymentIntentId: `pi_syn_${hash24(request.invoiceId)}`,
      chargeId: `ch_syn_${hash24(request.idempotencyKey)}`,
      amountCaptured: 12_345,
      capturedAt: now(),
      settledAt: now(), // no settlement delay configured
    });
    expect(await gateway.getPayment(result.paymentIntentId)).toEqual({
      paymentIntentId: result.paymentIntentId,
      status: 'succeeded',
      chargeId: result.chargeId,
      amountCaptured: 12_345,
      amountRefunded: 0,
      currency: 'USD',
      settledAt: now(),
    });
  });

  it('uses the payment intent it is given', async () => {
    const { gateway } = syntheticGateway();
    const result = await gateway.capture(captureRequest({ paymentIntentId: 'pi_from_checkout' }));
    expect(result.paymentIntentId).toBe('pi_from_checkout');
  });

  it('captures in parts until the final capture, then refuses more', async () => {
    const { gateway } = syntheticGateway();
    const invoiceId = 'inv-multi';
    const first = await gateway.capture(captureRequest({ invoiceId, amount: 3_000, finalCapture: false }));
    expect((await gateway.getPayment(first.paymentIntentId))?.status).toBe('requires_capture');

    const second = await gateway.capture(captureRequest({ invoiceId, amount: 7_000, finalCapture: true }));

    expect(second.paymentIntentId).toBe(first.paymentIntentId);
    expect(second.chargeId).not.toBe(first.chargeId);
    expect(second.amountCaptured).toBe(7_000);
    expect(await gateway.getPayment(first.paymentIntentId)).toMatchObject({
      status: 'succeeded',
      amountCaptured: 10_000,
      chargeId: second.chargeId,
    });
    const third = await declineOf(gateway.capture(captureRequest({ invoiceId, amount: 1 })));
    expect(third.declineCode).toBe('payment_intent_unexpected_state');
    expect((await gateway.getPayment(first.paymentIntentId))?.amountCaptured).toBe(10_000);
  });

  it('answers a repeated idempotency key with the first result and moves the money once', async () => {
    const { gateway, advance } = syntheticGateway();
    const request = captureRequest({ finalCapture: false });
    const first = await gateway.capture(request);
    advance(60_000);

    const again = await gateway.capture({ ...request });

    expect(again).toEqual(first);
    expect((await gateway.getPayment(first.paymentIntentId))?.amountCaptured).toBe(request.amount);
    expect(await gateway.listSettlements([first.paymentIntentId])).toHaveLength(1);
  });

  it('refuses an idempotency key reused for a different request', async () => {
    const { gateway } = syntheticGateway();
    const request = captureRequest({ finalCapture: false });
    const first = await gateway.capture(request);

    const refused = await declineOf(gateway.capture({ ...request, amount: request.amount + 1 }));

    expect(refused.declineCode).toBe('idempotency_error');
    expect((await gateway.getPayment(first.paymentIntentId))?.amountCaptured).toBe(request.amount);
  });

  it('refuses a capture in another currency than the payment intent', async () => {
    const { gateway } = syntheticGateway();
    const first = await gateway.capture(captureRequest({ invoiceId: 'inv-fx', finalCapture: false }));
    const refused = await declineOf(gateway.capture(captureRequest({ invoiceId: 'inv-fx', currency: 'JPY' })));
    expect(refused.declineCode).toBe('currency_mismatch');
    expect((await gateway.getPayment(first.paymentIntentId))?.amountCaptured).toBe(10_000);
  });
});

describe('SyntheticGateway failures on demand', () => {
  it('declines, and answers the same key with the same decline', async () => {
    const { gateway } = syntheticGateway();
    const request = captureRequest();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'decline' });

    expect((await declineOf(gateway.capture(request))).declineCode).toBe('card_declined');
    expect((await declineOf(gateway.capture(request))).declineCode).toBe('card_declined');
    expect(await gateway.getPayment(`pi_syn_${hash24(request.invoiceId)}`)).toBeNull();

    // The failure was used up: a new attempt (new key) goes through.
    const retried = await gateway.capture({ ...request, idempotencyKey: 'attempt-2' });
    expect(retried.amountCaptured).toBe(request.amount);
  });

  it('is unavailable without recording anything, and the same key then succeeds', async () => {
    const { gateway } = syntheticGateway();
    const request = captureRequest();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'unavailable', times: 2 });

    await expect(gateway.capture(request)).rejects.toBeInstanceOf(GatewayUnavailableError);
    await expect(gateway.capture(request)).rejects.toBeInstanceOf(GatewayUnavailableError);
    expect(await gateway.getPayment(`pi_syn_${hash24(request.invoiceId)}`)).toBeNull();

    const result = await gateway.capture(request);
    expect(result.amountCaptured).toBe(request.amount);
  });

  it('loses the answer after capturing; the same key then returns the recorded success', async () => {
    const { gateway } = syntheticGateway();
    const request = captureRequest();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'capture', mode: 'timeout_after_success' });

    await expect(gateway.capture(request)).rejects.toBeInstanceOf(GatewayUnavailableError);
    const paymentIntentId = `pi_syn_${hash24(request.invoiceId)}`;
    expect((await gateway.getPayment(paymentIntentId))?.amountCaptured).toBe(request.amount);

    const result = await gateway.capture(request);
    expect(result).toMatchObject({ paymentIntentId, chargeId: `ch_syn_${hash24(request.idempotencyKey)}` });
    expect((await gateway.getPayment(paymentIntentId))?.amountCaptured).toBe(request.amount);
  });

  it('fails only the invoice and operation it was asked for', async () => {
    const { gateway } = syntheticGateway();
    const request = captureRequest();
    gateway.injectFailure({ invoiceId: request.invoiceId, operation: 'refund', mode: 'unavailable' });
    gateway.injectFailure({ invoiceId: 'another-invoice', operation: 'capture', mode: 'unavailable' });

    const captured = await gateway.capture(request);
    await expect(
      gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: captured.paymentIntentId })),
    ).rejects.toBeInstanceOf(GatewayUnavailableError);
  });

  it('simulates a slow processor, from the start or turned up later', async () => {
    const { gateway } = syntheticGateway({ latencyMs: 60 });
    const timed = async (call: () => Promise<unknown>) => {
      const started = performance.now();
      await call();
      return performance.now() - started;
    };
    expect(await timed(() => gateway.capture(captureRequest()))).toBeGreaterThanOrEqual(55);
    gateway.latencyMs = 0;
    expect(await timed(() => gateway.capture(captureRequest()))).toBeLessThan(55);
    gateway.latencyMs = 80;
    expect(await timed(() => gateway.getPayment('pi_any'))).toBeGreaterThanOrEqual(75);
    expect(() => (gateway.latencyMs = -1)).toThrow(RangeError);
  });
});

describe('SyntheticGateway refunds', () => {
  async function captured(amount = 10_000) {
    const context = syntheticGateway();
    const request = captureRequest({ amount });
    const capture = await context.gateway.capture(request);
    const refund = (overrides: Partial<Parameters<typeof refundRequest>[0]> = {}) =>
      context.gateway.refund(refundRequest({ invoiceId: request.invoiceId, paymentIntentId: capture.paymentIntentId, ...overrides }));
    return { ...context, capture, refund };
  }

  it('refunds in parts up to what was captured, then declines', async () => {
    const { gateway, capture, refund, now } = await captured(10_000);

    const partial = await refund({ amount: 4_000, idempotencyKey: 'refund-1' });
    expect(partial).toEqual({ status: 'succeeded', refundId: `re_syn_${hash24('refund-1')}`, amount: 4_000, createdAt: now() });
    await refund({ amount: 6_000 });
    expect(await gateway.getPayment(capture.paymentIntentId)).toMatchObject({ amountCaptured: 10_000, amountRefunded: 10_000 });

    const tooMuch = await declineOf(refund({ amount: 1 }));
    expect(tooMuch.declineCode).toBe('amount_too_large');
    expect((await gateway.getPayment(capture.paymentIntentId))?.amountRefunded).toBe(10_000);
  });

  it('declines a refund above captured minus refunded', async () => {
    const { gateway, capture, refund } = await captured(5_000);
    await refund({ amount: 2_000 });
    expect((await declineOf(refund({ amount: 3_001 }))).declineCode).toBe('amount_too_large');
    expect((await gateway.getPayment(capture.paymentIntentId))?.amountRefunded).toBe(2_000);
  });

  it('replays a refund for the same key instead of refunding twice', async () => {
    const { gateway, capture, refund } = await captured();
    const first = await refund({ amount: 2_500, idempotencyKey: 'refund-once' });
    const again = await refund({ amount: 2_500, idempotencyKey: 'refund-once' });
    expect(again).toEqual(first);
    expect((await gateway.getPayment(capture.paymentIntentId))?.amountRefunded).toBe(2_500);
  });

  it('loses a refund answer after refunding; the same key returns it', async () => {
    const { gateway, capture, refund } = await captured();
    gateway.injectFailure({ invoiceId: 'x', operation: 'refund', mode: 'decline' }); // another invoice: ignored
    const invoiceId = 'inv-refund-timeout';
    gateway.injectFailure({ invoiceId, operation: 'refund', mode: 'timeout_after_success' });

    await expect(refund({ invoiceId, amount: 1_500, idempotencyKey: 'lost' })).rejects.toBeInstanceOf(GatewayUnavailableError);
    expect((await gateway.getPayment(capture.paymentIntentId))?.amountRefunded).toBe(1_500);
    const result = await refund({ invoiceId, amount: 1_500, idempotencyKey: 'lost' });
    expect(result.refundId).toBe(`re_syn_${hash24('lost')}`);
    expect((await gateway.getPayment(capture.paymentIntentId))?.amountRefunded).toBe(1_500);
  });

  it('declines a refund for a payment intent it does not know', async () => {
    const { gateway } = syntheticGateway();
    const refused = await declineOf(gateway.refund(refundRequest({ invoiceId: 'inv', paymentIntentId: 'pi_unknown' })));
    expect(refused.declineCode).toBe('resource_missing');
  });
});

describe('SyntheticGateway settlement', () => {
  it('settles captures and refunds after the configured delay', async () => {
    const { gateway, advance, now } = syntheticGateway({ settlementDelayMs: 2 * HOUR });
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
      {
        paymentIntentId: capture.paymentIntentId,
        id: `txn_syn_${hash24(request.idempotencyKey)}`,
        type: 'charge',
        amount: 8_000,
        currency: 'USD',
        availableOn: settledAt,
      },
    ]);

    advance(HOUR);
    const lines = await gateway.listSettlements([capture.paymentIntentId]);
    expect(lines.map((line) => [line.type, line.amount])).toEqual([
      ['charge', 8_000],
      ['refund', -3_000],
    ]);
    expect(lines[1]?.availableOn).toEqual(now());
  });

  it('lists the lines of several payment intents and ignores unknown ones', async () => {
    const { gateway } = syntheticGateway();
    const first = await gateway.capture(captureRequest({ invoiceId: 'inv-a', amount: 1_000, finalCapture: false }));
    await gateway.capture(captureRequest({ invoiceId: 'inv-a', amount: 500 }));
    const second = await gateway.capture(captureRequest({ invoiceId: 'inv-b', amount: 2_000 }));
    await gateway.refund(refundRequest({ invoiceId: 'inv-b', paymentIntentId: second.paymentIntentId, amount: 700 }));
    await gateway.capture(captureRequest({ invoiceId: 'inv-c', amount: 9_999 }));

    const lines = await gateway.listSettlements([first.paymentIntentId, second.paymentIntentId, 'pi_unknown', first.paymentIntentId]);

    expect(lines.map((line) => [line.paymentIntentId, line.type, line.amount])).toEqual([
      [first.paymentIntentId, 'charge', 1_000],
      [first.paymentIntentId, 'charge', 500],
      [second.paymentIntentId, 'charge', 2_000],
      [second.paymentIntentId, 'refund', -700],
    ]);
    expect(new Set(lines.map((line) => line.id)).size).toBe(4);
  });

  it('lets a test mark a payment settled now', async () => {
    const { gateway, now } = syntheticGateway({ settlementDelayMs: 48 * HOUR });
    const capture = await gateway.capture(captureRequest());
    gateway.markSettled(capture.paymentIntentId);
    expect((await gateway.getPayment(capture.paymentIntentId))?.settledAt).toEqual(now());
    expect(await gateway.listSettlements([capture.paymentIntentId])).toHaveLength(1);
  });

  it('does not know payment intents it never captured', async () => {
    const { gateway } = syntheticGateway();
    expect(await gateway.getPayment('pi_never_seen')).toBeNull();
  });
});
