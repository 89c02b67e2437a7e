import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  GatewayDeclinedError,
  GatewayUnavailableError,
  type BillingGatewayClient,
  type CaptureRequest,
  type CaptureResult,
  type PaymentState,
  type ProcessorRefund,
  type RefundReason,
  type RefundRequest,
  type RefundResult,
  type SettlementRecord,
} from '../../domain/gateway/billing-gateway-client.js';
import { syntheticId } from './synthetic-ids.js';
import { SyntheticFailurePlan, type SyntheticFailure, type SyntheticOperation } from './synthetic-failures.js';

export type SyntheticGatewayOptions = {
  /** How long after a capture or refund its funds settle; 0 settles them at once. */
  settlementDelayMs?: number;
  /** Added to every call, to simulate a slow processor. */
  latencyMs?: number;
  /** The gateway's clock; tests pass one they can move. */
  now?: () => Date;
  /** How long an idempotency key is kept, as Stripe keeps them for about 24 hours; then it is forgotten. */
  keyRetentionMs?: number;
};

type SettlementLine = { id: string; type: 'charge' | 'refund'; amount: number; availableOn: Date };

type SyntheticIntent = {
  id: string;
  invoiceId: string;
  currency: string;
  createdAt: Date;
  captured: number;
  capturedAt: Date | null;
  /** The idempotency keys (our attempt ids) of the captures that moved money, as Stripe's capture metadata. */
  captureAttemptIds: string[];
  refunded: number;
  /** After a final capture the rest of the authorisation is released, as at Stripe. */
  finalCaptured: boolean;
  latestChargeId: string;
  lines: SettlementLine[];
  /** Refund id → the refund and its statement line, so a refund can fail later (`failRefund`). */
  refunds: Map<string, { refund: ProcessorRefund; line: SettlementLine }>;
  /** When money moved or the intent changed: what `listActivity` answers from. */
  activity: Date[];
};

type Outcome<R> = { ok: true; result: R } | { ok: false; declineCode: string; message: string };
type StoredRequest = { operation: SyntheticOperation; request: CaptureRequest | RefundRequest; storedAt: Date };

/**
 * An in-memory processor for development and tests: deterministic ids, idempotency keys honoured like
 * Stripe's (same key and request → the first outcome, declines included; same key, other request →
 * `idempotency_error`), a settlement delay, and failures on demand (`injectFailure`).
 * Its memory is the process's: after a restart it knows no payment intents (`getPayment` → null).
 */
export class SyntheticGateway implements BillingGatewayClient {
  readonly name = 'synthetic' as const;
  readonly #settlementDelayMs: number;
  #latencyMs: number;
  readonly #now: () => Date;
  readonly #keyRetentionMs: number;
  readonly #intents = new Map<string, SyntheticIntent>();
  readonly #outcomes = new Map<string, StoredRequest & { outcome: Outcome<CaptureResult | RefundResult> }>();
  readonly #failures = new SyntheticFailurePlan();

  constructor(options: SyntheticGatewayOptions = {}) {
    this.#settlementDelayMs = nonNegative('settlementDelayMs', options.settlementDelayMs ?? 0);
    this.#latencyMs = nonNegative('latencyMs', options.latencyMs ?? 0);
    this.#now = options.now ?? (() => new Date());
    this.#keyRetentionMs = nonNegative('keyRetentionMs', options.keyRetentionMs ?? 24 * 3600 * 1000);
  }

  /** Added to every call; tests that share one gateway turn it up and down at run time. */
  get latencyMs(): number {
    return this.#latencyMs;
  }

  set latencyMs(value: number) {
    this.#latencyMs = nonNegative('latencyMs', value);
  }

  /** Make the next call(s) for this invoice and operation fail; see `SyntheticFailureMode`. */
  injectFailure(failure: SyntheticFailure): void {
    this.#failures.add(failure);
  }

  clearFailures(): void {
    this.#failures.clear();
  }

  /** Test helper: every line of this payment intent counts as settled from now (or earlier, if already). */
  markSettled(paymentIntentId: string): void {
    const now = this.#now();
    for (const line of this.#intents.get(paymentIntentId)?.lines ?? []) {
      if (line.availableOn > now) line.availableOn = now;
    }
  }

  /**
   * Test helper: the processor reports one of its refunds failed after the fact (a closed card, say):
   * the money stays with the merchant, so it is refundable again and leaves the statement.
   */
  failRefund(refundId: string): void {
    for (const intent of this.#intents.values()) {
      const entry = intent.refunds.get(refundId);
      if (!entry) continue;
      if (entry.refund.status === 'failed') return;
      entry.refund.status = 'failed';
      entry.refund.failureReason = 'expired_or_canceled_card';
      intent.refunded -= entry.refund.amount;
      intent.lines = intent.lines.filter((line) => line !== entry.line);
      intent.activity.push(this.#now());
      return;
    }
    throw new Error(`the synthetic gateway made no refund ${refundId}`);
  }

  /** Test helper: a refund made outside the service (the processor's dashboard): no attempt id in it. */
  refundOutside(paymentIntentId: string, amount: number, reason: RefundReason = 'REQUESTED_BY_CUSTOMER'): ProcessorRefund {
    const intent = this.#intents.get(paymentIntentId);
    if (!intent) throw new Error(`the synthetic gateway knows no payment intent ${paymentIntentId}`);
    const refund = this.#recordRefund(intent, `outside:${intent.refunds.size}:${paymentIntentId}`, amount, reason, null);
    return structuredClone(refund);
  }

  capture(request: CaptureRequest): Promise<CaptureResult> {
    return this.#perform('capture', request, () => this.#capture(request));
  }

  refund(request: RefundRequest): Promise<RefundResult> {
    return this.#perform('refund', request, () => this.#refund(request));
  }

  async getPayment(paymentIntentId: string): Promise<PaymentState | null> {
    await this.#latency();
    const intent = this.#intents.get(paymentIntentId);
    if (!intent) return null;
    const latestCharge = intent.lines.filter((line) => line.type === 'charge').at(-1);
    return structuredClone({
      paymentIntentId: intent.id,
      status: intent.finalCaptured ? 'succeeded' : 'requires_capture',
      currency: intent.currency,
      invoiceId: intent.invoiceId,
      chargeId: intent.latestChargeId,
      amountCaptured: intent.captured,
      capturedAt: intent.capturedAt,
      captureAttemptIds: intent.captureAttemptIds,
      refunds: [...intent.refunds.values()].map((entry) => entry.refund),
      // Settled once the latest capture's funds are: earlier captures settle no later than it.
      settledAt: latestCharge ? this.#settledAt(latestCharge) : null,
    });
  }

  async listActivity(since: Date): Promise<string[]> {
    await this.#latency();
    return [...this.#intents.values()].filter((intent) => intent.activity.some((at) => at >= since)).map((intent) => intent.id);
  }

  async listSettlements(paymentIntentIds: readonly string[]): Promise<SettlementRecord[]> {
    await this.#latency();
    const now = this.#now();
    return [...new Set(paymentIntentIds)].flatMap((id) => {
      const intent = this.#intents.get(id);
      if (!intent) return [];
      return intent.lines
        .filter((line) => line.availableOn <= now)
        .map((line) => ({ paymentIntentId: id, currency: intent.currency, ...line, availableOn: new Date(line.availableOn) }));
    });
  }

  /**
   * The processor's front door: idempotency, injected failures, then the operation itself. Whatever the
   * operation decided is stored under the key before a lost answer (`timeout_after_success`) is simulated.
   */
  async #perform<R extends CaptureResult | RefundResult>(
    operation: SyntheticOperation,
    request: CaptureRequest | RefundRequest,
    execute: () => R,
  ): Promise<R> {
    await this.#latency();
    let stored = this.#outcomes.get(request.idempotencyKey);
    if (stored && this.#now().getTime() - stored.storedAt.getTime() > this.#keyRetentionMs) {
      // Forgotten, as Stripe forgets keys: the same request now runs again as a new one.
      this.#outcomes.delete(request.idempotencyKey);
      stored = undefined;
    }
    if (stored && !isDeepStrictEqual({ operation: stored.operation, request: stored.request }, { operation, request })) {
      throw new GatewayDeclinedError(
        'idempotency_error',
        `Idempotency key ${request.idempotencyKey} was already used for a different request`,
      );
    }
    // A replay answers from the stored outcome: only the network (unavailable, lost answer) can interfere.
    const failure = this.#failures.take(request.invoiceId, operation, (mode) => !(stored && mode === 'decline'));
    if (failure?.mode === 'unavailable') {
      throw new GatewayUnavailableError(`Synthetic processor unreachable (${operation} for invoice ${request.invoiceId})`);
    }

    let outcome = stored?.outcome as Outcome<R> | undefined;
    if (!outcome) {
      outcome =
        failure?.mode === 'decline'
          ? { ok: false, declineCode: failure.declineCode, message: `Synthetic ${operation} declined (${failure.declineCode})` }
          : attempt(execute);
      this.#outcomes.set(request.idempotencyKey, { operation, request: structuredClone(request), storedAt: this.#now(), outcome });
    }
    if (failure?.mode === 'timeout_after_success') {
      throw new GatewayUnavailableError(`Synthetic processor timed out after processing the ${operation}; the answer was lost`);
    }
    if (!outcome.ok) throw new GatewayDeclinedError(outcome.declineCode, outcome.message);
    return structuredClone(outcome.result);
  }

  #capture(request: CaptureRequest): CaptureResult {
    assertAmount(request.amount);
    const paymentIntentId = request.paymentIntentId ?? syntheticId('pi_syn_', request.invoiceId);
    const existing = this.#intents.get(paymentIntentId);
    if (existing) {
      assertSameCurrency(existing, request.currency);
      if (existing.finalCaptured) {
        throw new GatewayDeclinedError(
          'payment_intent_unexpected_state',
          `Payment intent ${paymentIntentId} had its final capture already`,
        );
      }
    }
    const capturedAt = this.#now();
    const chargeId = syntheticId('ch_syn_', request.idempotencyKey);
    const line = this.#line(request.idempotencyKey, 'charge', request.amount, capturedAt);
    const intent: SyntheticIntent = existing ?? {
      id: paymentIntentId,
      invoiceId: request.invoiceId,
      currency: request.currency,
      createdAt: capturedAt,
      captured: 0,
      capturedAt: null,
      captureAttemptIds: [],
      refunded: 0,
      finalCaptured: false,
      latestChargeId: chargeId,
      lines: [],
      refunds: new Map(),
      activity: [],
    };
    intent.captured += request.amount;
    intent.capturedAt = capturedAt;
    intent.captureAttemptIds.push(request.idempotencyKey);
    intent.activity.push(capturedAt);
    intent.finalCaptured = request.finalCapture;
    intent.latestChargeId = chargeId;
    intent.lines.push(line);
    this.#intents.set(paymentIntentId, intent);
    return {
      status: 'succeeded',
      paymentIntentId,
      chargeId,
      amountCaptured: request.amount,
      capturedTotal: intent.captured,
      capturedAt,
      settledAt: this.#settledAt(line),
    };
  }

  #refund(request: RefundRequest): RefundResult {
    assertAmount(request.amount);
    const intent = this.#intents.get(request.paymentIntentId);
    if (!intent) throw new GatewayDeclinedError('resource_missing', `No such payment intent: ${request.paymentIntentId}`);
    assertSameCurrency(intent, request.currency);
    const refundable = intent.captured - intent.refunded;
    if (request.amount > refundable) {
      throw new GatewayDeclinedError(
        'amount_too_large',
        `Refund of ${request.amount} exceeds the ${refundable} still refundable on ${intent.id}`,
      );
    }
    const refund = this.#recordRefund(intent, request.idempotencyKey, request.amount, request.reason, request.idempotencyKey);
    return { ...refund, status: 'succeeded' };
  }

  #recordRefund(intent: SyntheticIntent, seed: string, amount: number, reason: RefundReason, attemptId: string | null): ProcessorRefund {
    const createdAt = this.#now();
    const refund: ProcessorRefund = {
      id: syntheticId('re_syn_', seed),
      paymentIntentId: intent.id,
      chargeId: intent.latestChargeId,
      amount,
      currency: intent.currency,
      status: 'succeeded',
      attemptId,
      reason,
      failureReason: null,
      createdAt,
    };
    const line = this.#line(seed, 'refund', -amount, createdAt);
    intent.refunded += amount;
    intent.lines.push(line);
    intent.refunds.set(refund.id, { refund, line });
    intent.activity.push(createdAt);
    return refund;
  }

  #line(idempotencyKey: string, type: SettlementLine['type'], amount: number, at: Date): SettlementLine {
    return { id: syntheticId('txn_syn_', idempotencyKey), type, amount, availableOn: new Date(at.getTime() + this.#settlementDelayMs) };
  }

  #settledAt(line: SettlementLine): Date | null {
    return line.availableOn <= this.#now() ? new Date(line.availableOn) : null;
  }

  async #latency(): Promise<void> {
    if (this.#latencyMs > 0) await sleep(this.#latencyMs);
  }
}

function attempt<R>(execute: () => R): Outcome<R> {
  try {
    return { ok: true, result: execute() };
  } catch (error) {
    if (error instanceof GatewayDeclinedError) return { ok: false, declineCode: error.declineCode, message: error.message };
    throw error;
  }
}

function assertAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new GatewayDeclinedError('parameter_invalid_integer', `Amount must be a positive whole number of minor units, got ${amount}`);
  }
}

function assertSameCurrency(intent: SyntheticIntent, currency: string): void {
  if (intent.currency !== currency) {
    throw new GatewayDeclinedError('currency_mismatch', `Payment intent ${intent.id} is in ${intent.currency}, not ${currency}`);
  }
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}
