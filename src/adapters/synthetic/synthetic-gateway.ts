import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
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
import { SyntheticFailurePlan, type SyntheticFailure, type SyntheticFailureMode, type SyntheticOperation } from './synthetic-failures.js';
import { readKey, sameRequest, storeKey, toJson, tryHoldKey, type StoredOutcome } from './synthetic-idempotency.js';
import { syntheticId } from './synthetic-ids.js';
import { migrateSyntheticSchema } from './synthetic-schema.js';
import { insertSeedPayments, type SeedPayment } from './synthetic-seed.js';
import {
  activitySince,
  allPaymentTotals,
  ensureIntent,
  insertCapture,
  insertRefund,
  lockIntent,
  markRefundFailed,
  readPayment,
  settleLinesNow,
  settlementLines,
  type Intent,
  type PaymentTotals,
} from './synthetic-store.js';

export type { PaymentTotals } from './synthetic-store.js';
export type { SeedPayment } from './synthetic-seed.js';

export type SyntheticGatewayOptions = {
  /** How long after a capture or refund its funds settle; 0 settles them at once. */
  settlementDelayMs?: number;
  /**
   * Added to every call, to simulate a slow processor. A capture or refund spends it holding its key and
   * its payment's row lock, as a processor's own work would: concurrent ones on one payment queue.
   */
  latencyMs?: number;
  /** The gateway's clock; tests pass one they can move. Every stored time comes from it. */
  now?: () => Date;
  /** How long an idempotency key is kept, as Stripe keeps them for about 24 hours; then it is forgotten. */
  keyRetentionMs?: number;
};

export type SyntheticConnection = {
  /** The database whose `synthetic_gateway` schema holds the processor: the service's own database. */
  databaseUrl: string;
  /** Connections of the gateway's own small pool (default 3). */
  maxConnections?: number;
  /** Named prepared statements (default true); false behind a transaction-mode pooler, as for the app. */
  prepare?: boolean;
};

/** Failures met by a re-send of a stored request: those in front of the processor. */
const REPLAY_FAILURES: ReadonlySet<SyntheticFailureMode> = new Set(['unavailable', 'error_before', 'timeout_after_success']);

/**
 * A processor for development and tests whose state is kept in Postgres, in a schema of its own
 * (`synthetic_gateway`), so that a restarted process and several api/worker processes see one
 * processor, as they would see one Stripe account. It behaves as Stripe documents what matters here:
 * idempotency keys (same key and request → the first outcome, declines and 500s included; same key,
 * another request → `idempotency_error`; a key in use by a concurrent request → "in use"; keys forgotten
 * after `keyRetentionMs`), row locks per payment so concurrent captures never capture past the
 * authorisation or after a final capture, deterministic ids, a settlement delay, and failures on
 * demand (`injectFailure`, a plan kept in this process's memory).
 */
export class SyntheticGateway implements BillingGatewayClient {
  readonly name = 'synthetic' as const;
  readonly #sql: postgres.Sql;
  readonly #settlementDelayMs: number;
  #latencyMs: number;
  readonly #now: () => Date;
  readonly #keyRetentionMs: number;
  readonly #failures = new SyntheticFailurePlan();

  /** Connects its own small pool and creates or updates its schema; `close` ends the pool. */
  static async open(connection: SyntheticConnection, options: SyntheticGatewayOptions = {}): Promise<SyntheticGateway> {
    const sql = postgres(connection.databaseUrl, {
      max: connection.maxConnections ?? 3,
      prepare: connection.prepare ?? true,
      onnotice: () => {},
      connection: { application_name: 'billing-ledger synthetic gateway' },
    });
    try {
      await migrateSyntheticSchema(sql);
      return new SyntheticGateway(sql, options);
    } catch (error) {
      await sql.end({ timeout: 5 });
      throw error;
    }
  }

  private constructor(sql: postgres.Sql, options: SyntheticGatewayOptions) {
    this.#sql = sql;
    this.#settlementDelayMs = nonNegative('settlementDelayMs', options.settlementDelayMs ?? 0);
    this.#latencyMs = nonNegative('latencyMs', options.latencyMs ?? 0);
    this.#now = options.now ?? (() => new Date());
    this.#keyRetentionMs = nonNegative('keyRetentionMs', options.keyRetentionMs ?? 24 * 3600 * 1000);
  }

  close(): Promise<void> {
    return this.#sql.end({ timeout: 5 });
  }

  /** Added to every call; tests that share one gateway turn it up and down at run time. */
  get latencyMs(): number {
    return this.#latencyMs;
  }

  set latencyMs(value: number) {
    this.#latencyMs = nonNegative('latencyMs', value);
  }

  /** Make the next call(s) for this invoice and operation fail, in this process; see `SyntheticFailureMode`. */
  injectFailure(failure: SyntheticFailure): void {
    this.#failures.add(failure);
  }

  clearFailures(): void {
    this.#failures.clear();
  }

  /**
   * Test helper: a payment intent the customer authorised for `amount` (a checkout with manual capture),
   * so captures on it stop at that amount. Intents the gateway makes up on a first capture have no limit.
   */
  async authorize(payment: { paymentIntentId: string; invoiceId: string | null; amount: number; currency: string }): Promise<void> {
    positiveWhole('amount', payment.amount);
    await ensureIntent(this.#sql, { id: payment.paymentIntentId, invoiceId: payment.invoiceId, currency: payment.currency, authorizedAmount: payment.amount, at: this.#now() });
  }

  /** Test helper: every line of this payment intent counts as settled from now (or earlier, if already). */
  async markSettled(paymentIntentId: string): Promise<void> {
    await settleLinesNow(this.#sql, paymentIntentId, this.#now());
  }

  /**
   * Test helper: the processor reports one of its refunds failed after the fact (a closed card, say):
   * the money stays with the merchant, so it is refundable again and leaves the statement.
   */
  async failRefund(refundId: string): Promise<void> {
    const failed = await this.#sql.begin((tx) => markRefundFailed(tx, refundId, 'expired_or_canceled_card', this.#now()));
    if (failed === undefined) throw new Error(`the synthetic gateway made no refund ${refundId}`);
  }

  /** Test helper: a refund made outside the service (the processor's dashboard): no attempt id in it. */
  async refundOutside(paymentIntentId: string, amount: number, reason: RefundReason = 'REQUESTED_BY_CUSTOMER'): Promise<ProcessorRefund> {
    positiveWhole('amount', amount);
    return this.#sql.begin(async (tx) => {
      const intent = await lockIntent(tx, paymentIntentId);
      if (!intent) throw new Error(`the synthetic gateway knows no payment intent ${paymentIntentId}`);
      if (amount > intent.amountCaptured - intent.amountRefunded) {
        throw new Error(`a refund of ${amount} exceeds the ${intent.amountCaptured - intent.amountRefunded} refundable on ${paymentIntentId}`);
      }
      const at = this.#now();
      return insertRefund(tx, intent, { attemptId: null, amount, reason, at, availableOn: this.#availableOn(at) });
    });
  }

  /** For `ledger verify`: what the processor holds for every payment it knows, by payment intent id. */
  paymentTotals(): Promise<PaymentTotals[]> {
    return allPaymentTotals(this.#sql);
  }

  /** For benchmarks: loads payments in bulk (one transaction, no idempotency records); see `SeedPayment`. */
  seedPayments(payments: readonly SeedPayment[]): Promise<void> {
    return insertSeedPayments(this.#sql, payments);
  }

  capture(request: CaptureRequest): Promise<CaptureResult> {
    return this.#perform('capture', request, (tx, at) => this.#capture(tx, request, at), reviveCapture);
  }

  refund(request: RefundRequest): Promise<RefundResult> {
    return this.#perform('refund', request, (tx, at) => this.#refund(tx, request, at), reviveRefund);
  }

  async getPayment(paymentIntentId: string): Promise<PaymentState | null> {
    await this.#latency();
    const payment = await reachable(() => this.#sql.begin('isolation level repeatable read read only', (tx) => readPayment(tx, paymentIntentId)));
    if (!payment) return null;
    const { finalCaptured, latestChargeAvailableOn, ...state } = payment;
    return {
      ...state,
      status: finalCaptured ? 'succeeded' : 'requires_capture',
      // Settled once the latest capture's funds are: earlier captures settle no later than it.
      settledAt: latestChargeAvailableOn && this.#settledAt(latestChargeAvailableOn),
    };
  }

  async listActivity(since: Date): Promise<string[]> {
    await this.#latency();
    return reachable(() => activitySince(this.#sql, since));
  }

  async listSettlements(paymentIntentIds: readonly string[]): Promise<SettlementRecord[]> {
    await this.#latency();
    return reachable(() => settlementLines(this.#sql, [...new Set(paymentIntentIds)], this.#now()));
  }

  /**
   * The processor's front door, one transaction per request: hold the key (or answer "in use"), then
   * the stored outcome or the injected failure or the operation itself, and store what it decided under
   * the key. A lost answer (`timeout_after_success`) is simulated after the commit, so the work stays done.
   */
  async #perform<R extends CaptureResult | RefundResult>(
    operation: SyntheticOperation,
    request: CaptureRequest | RefundRequest,
    execute: (tx: postgres.ISql, at: Date) => Promise<R>,
    revive: (json: postgres.JSONValue) => R,
  ): Promise<R> {
    const { outcome, lostAnswer } = await reachable(() =>
      this.#sql.begin(async (tx) => {
        if (!(await tryHoldKey(tx, request.idempotencyKey))) {
          throw new GatewayUnavailableError(`Idempotency key ${request.idempotencyKey} is in use by a concurrent request; its outcome is unknown here`);
        }
        const at = this.#now();
        const stored = await readKey(tx, request.idempotencyKey, new Date(at.getTime() - this.#keyRetentionMs));
        if (stored && !sameRequest(stored, operation, request)) {
          throw new GatewayDeclinedError('idempotency_error', `Idempotency key ${request.idempotencyKey} was already used for a different request`);
        }
        const failure = this.#failures.take(request.invoiceId, operation, (mode) => !stored || REPLAY_FAILURES.has(mode));
        // The work itself spends the latency holding the payment's lock (in #capture, #refund); the rest here.
        if (stored || failure?.mode === 'unavailable' || failure?.mode === 'error_before' || failure?.mode === 'decline') await this.#latency();
        if (failure?.mode === 'unavailable') {
          throw new GatewayUnavailableError(`Synthetic processor unreachable (${operation} for invoice ${request.invoiceId})`);
        }
        if (failure?.mode === 'error_before') {
          throw new GatewayUnavailableError(`Synthetic processor answered 500 before processing the ${operation}`);
        }
        if (stored) return { outcome: stored.outcome, lostAnswer: failure?.mode === 'timeout_after_success' };

        let decided: StoredOutcome =
          failure?.mode === 'decline'
            ? { kind: 'declined', declineCode: failure.declineCode, message: `Synthetic ${operation} declined (${failure.declineCode})` }
            : await decide(() => tx.savepoint((savepoint) => execute(savepoint, at)));
        if (failure?.mode === 'error_after_success') {
          decided = { kind: 'error', message: `Synthetic processor answered 500 after processing the ${operation}` };
        }
        await storeKey(tx, request.idempotencyKey, { operation, request, outcome: decided, at });
        return { outcome: decided, lostAnswer: failure?.mode === 'timeout_after_success' };
      }),
    );
    if (lostAnswer) throw new GatewayUnavailableError(`Synthetic processor timed out after processing the ${operation}; the answer was lost`);
    switch (outcome.kind) {
      case 'succeeded':
        return revive(outcome.result);
      case 'declined':
        throw new GatewayDeclinedError(outcome.declineCode, outcome.message);
      case 'error':
        throw new GatewayUnavailableError(outcome.message);
    }
  }

  async #capture(tx: postgres.ISql, request: CaptureRequest, at: Date): Promise<CaptureResult> {
    assertAmount(request.amount);
    assertCurrency(request.currency);
    const paymentIntentId = request.paymentIntentId ?? syntheticId('pi_syn_', request.invoiceId);
    await ensureIntent(tx, { id: paymentIntentId, invoiceId: request.invoiceId, currency: request.currency, authorizedAmount: null, at });
    const intent = (await lockIntent(tx, paymentIntentId))!;
    await this.#latency();
    assertSameCurrency(intent, request.currency);
    if (intent.finalCaptured) {
      throw new GatewayDeclinedError('payment_intent_unexpected_state', `Payment intent ${paymentIntentId} had its final capture already`);
    }
    if (intent.authorizedAmount !== null && intent.amountCaptured + request.amount > intent.authorizedAmount) {
      throw new GatewayDeclinedError(
        'amount_too_large',
        `Capture of ${request.amount} exceeds the ${intent.authorizedAmount - intent.amountCaptured} still capturable on ${paymentIntentId}`,
      );
    }
    const availableOn = this.#availableOn(at);
    const { chargeId, capturedTotal } = await insertCapture(tx, intent, {
      attemptId: request.idempotencyKey,
      amount: request.amount,
      finalCapture: request.finalCapture,
      at,
      availableOn,
    });
    return {
      status: 'succeeded',
      paymentIntentId,
      chargeId,
      amountCaptured: request.amount,
      capturedTotal,
      capturedAt: at,
      settledAt: this.#settledAt(availableOn, at),
    };
  }

  async #refund(tx: postgres.ISql, request: RefundRequest, at: Date): Promise<RefundResult> {
    assertAmount(request.amount);
    const intent = await lockIntent(tx, request.paymentIntentId);
    await this.#latency();
    if (!intent) throw new GatewayDeclinedError('resource_missing', `No such payment intent: ${request.paymentIntentId}`);
    assertSameCurrency(intent, request.currency);
    const refundable = intent.amountCaptured - intent.amountRefunded;
    if (request.amount > refundable) {
      throw new GatewayDeclinedError('amount_too_large', `Refund of ${request.amount} exceeds the ${refundable} still refundable on ${intent.id}`);
    }
    const refund = await insertRefund(tx, intent, {
      attemptId: request.idempotencyKey,
      amount: request.amount,
      reason: request.reason,
      at,
      availableOn: this.#availableOn(at),
    });
    return { ...refund, status: 'succeeded' };
  }

  #availableOn(at: Date): Date {
    return new Date(at.getTime() + this.#settlementDelayMs);
  }

  #settledAt(availableOn: Date, now = this.#now()): Date | null {
    return availableOn <= now ? new Date(availableOn) : null;
  }

  async #latency(): Promise<void> {
    if (this.#latencyMs > 0) await sleep(this.#latencyMs);
  }
}

/** A decline is an outcome to store; anything else is not decided and rolls the request back. */
async function decide(execute: () => Promise<CaptureResult | RefundResult>): Promise<StoredOutcome> {
  try {
    return { kind: 'succeeded', result: toJson(await execute()) };
  } catch (error) {
    if (error instanceof GatewayDeclinedError) return { kind: 'declined', declineCode: error.declineCode, message: error.message };
    throw error;
  }
}

/**
 * The processor's database failing (connection lost, a statement refused) is, for the caller, a
 * processor that did not answer: the outcome is unknown. The gateway's own answers pass through.
 */
async function reachable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof GatewayDeclinedError || error instanceof GatewayUnavailableError) throw error;
    if (error instanceof postgres.PostgresError || isConnectionError(error)) {
      throw new GatewayUnavailableError(`Synthetic processor unavailable: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  }
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('CONNECTION_') || code === 'CONNECT_TIMEOUT' || code === 'ECONNREFUSED' || code === 'ECONNRESET');
}

type CaptureJson = Omit<CaptureResult, 'capturedAt' | 'settledAt'> & { capturedAt: string; settledAt: string | null };
type RefundJson = Omit<RefundResult, 'createdAt'> & { createdAt: string };

function reviveCapture(json: postgres.JSONValue): CaptureResult {
  const stored = json as unknown as CaptureJson;
  return { ...stored, capturedAt: new Date(stored.capturedAt), settledAt: stored.settledAt === null ? null : new Date(stored.settledAt) };
}

function reviveRefund(json: postgres.JSONValue): RefundResult {
  const stored = json as unknown as RefundJson;
  return { ...stored, createdAt: new Date(stored.createdAt) };
}

function assertAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new GatewayDeclinedError('parameter_invalid_integer', `Amount must be a positive whole number of minor units, got ${amount}`);
  }
}

function assertCurrency(currency: string): void {
  if (!/^[A-Z]{3}$/.test(currency)) throw new GatewayDeclinedError('parameter_invalid', `Currency must be an ISO 4217 code in capitals, got ${currency}`);
}

function assertSameCurrency(intent: Intent, currency: string): void {
  if (intent.currency !== currency) {
    throw new GatewayDeclinedError('currency_mismatch', `Payment intent ${intent.id} is in ${intent.currency}, not ${currency}`);
  }
}

/** For the test helpers: a bad argument is the test's mistake, not a processor's answer. */
function positiveWhole(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive whole number, got ${value}`);
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}
