import { randomBytes } from 'node:crypto';
import { assertStripeAmount } from './amounts.js';
import { FakeClock } from './clock.js';
import { invalidRequest, resourceMissing } from './errors.js';
import { EventLog } from './events.js';
import type {
  BalanceTransactionType,
  FakeBalanceTransaction,
  FakeCharge,
  FakePaymentIntent,
  FakeRefund,
  FakeStripeObject,
  Metadata,
  RefundStatus,
} from './objects.js';
import { mergeMetadata } from './params.js';

export type FakeStripeStateOptions = {
  /**
   * When a new balance transaction's funds become available (Stripe: about two days). With 0 they are
   * available at once; otherwise they stay pending until a test calls `markAvailable`.
   */
  settlementDelaySeconds?: number;
  /** The base of the fake's clock (default: the real time); tests move it on with `clock.advance`. */
  now?: () => Date;
};

export type NewPaymentIntent = {
  amount: number;
  /** ISO code in any case; stored lowercase, as Stripe does. */
  currency: string;
  metadata?: Metadata;
  /** `manual` (default): authorised and waiting for captures; `automatic`: captured in full at once. */
  captureMethod?: 'manual' | 'automatic';
};

export type RefundReason = NonNullable<FakeRefund['reason']>;
/** What the API accepts; Stripe sets `expired_uncaptured_charge` itself. */
const REFUND_REASONS: readonly string[] = ['duplicate', 'fraudulent', 'requested_by_customer'] satisfies RefundReason[];

export type NewRefund = { paymentIntent?: string; charge?: string; amount?: number; reason?: string; metadata?: Metadata };

/**
 * What the fake Stripe account holds, and the rules Stripe applies when it changes; every change records
 * the events Stripe would send. The HTTP layer turns requests into these calls; tests call them directly
 * to seed, to act "in the dashboard" and to move time along (`clock`, `markAvailable`).
 */
export class FakeStripeState {
  readonly paymentIntents = new Map<string, FakePaymentIntent>();
  readonly charges = new Map<string, FakeCharge>();
  readonly refunds = new Map<string, FakeRefund>();
  readonly balanceTransactions = new Map<string, FakeBalanceTransaction>();
  readonly clock: FakeClock;
  readonly events: EventLog;
  readonly #settlementDelaySeconds: number;
  readonly #refundOutcomes: RefundStatus[] = [];
  // Lookups by owner, so that a payment's objects are found without scanning the whole account.
  readonly #chargesByIntent = new Map<string, FakeCharge[]>();
  readonly #refundsByCharge = new Map<string, FakeRefund[]>();
  readonly #transactionsBySource = new Map<string, FakeBalanceTransaction[]>();

  constructor(options: FakeStripeStateOptions = {}) {
    this.#settlementDelaySeconds = options.settlementDelaySeconds ?? 2 * 24 * 3600;
    this.clock = new FakeClock(options.now);
    this.events = new EventLog(this.clock);
  }

  /** A confirmed payment intent, as after the customer's checkout: its charge is authorised. Returns its id. */
  createPaymentIntent(input: NewPaymentIntent): string {
    assertStripeAmount(input.currency, input.amount, 'amount');
    const created = this.clock.seconds();
    const id = newId('pi');
    const currency = input.currency.toLowerCase();
    const charge: FakeCharge = {
      id: newId('ch'),
      object: 'charge',
      amount: input.amount,
      amount_captured: 0,
      amount_refunded: 0,
      balance_transaction: null,
      captured: false,
      created,
      currency,
      metadata: { ...input.metadata },
      paid: true,
      payment_intent: id,
      refunded: false,
      status: 'succeeded',
      livemode: false,
    };
    const intent: FakePaymentIntent = {
      id,
      object: 'payment_intent',
      amount: input.amount,
      amount_capturable: input.amount,
      amount_received: 0,
      capture_method: input.captureMethod ?? 'manual',
      currency,
      created,
      latest_charge: charge.id,
      metadata: { ...input.metadata },
      status: 'requires_capture',
      last_payment_error: null,
      canceled_at: null,
      livemode: false,
    };
    this.paymentIntents.set(id, intent);
    this.charges.set(charge.id, charge);
    listed(this.#chargesByIntent, id, charge);
    this.events.record('payment_intent.created', intent);
    if (intent.capture_method === 'automatic') {
      this.#capture(intent, charge, intent.amount, true);
      this.events.record('charge.succeeded', charge);
      this.events.record('payment_intent.succeeded', intent);
    } else {
      this.events.record('charge.succeeded', charge);
      this.events.record('payment_intent.amount_capturable_updated', intent);
    }
    return id;
  }

  /**
   * Stripe's capture: partial captures release the rest unless `finalCapture` is false (multicapture);
   * `metadata` is merged into the intent's. Events: `charge.captured`, then `payment_intent.succeeded` on
   * a final capture or `payment_intent.amount_capturable_updated` while more may follow.
   */
  capturePaymentIntent(id: string, input: { amountToCapture?: number; finalCapture?: boolean; metadata?: Metadata }): FakePaymentIntent {
    const intent = this.paymentIntents.get(id);
    if (!intent) throw resourceMissing('payment_intent', id, 'intent');
    if (intent.status !== 'requires_capture') {
      throw invalidRequest(
        `This PaymentIntent could not be captured because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
        'payment_intent_unexpected_state',
      );
    }
    const amount = input.amountToCapture ?? intent.amount_capturable;
    if (amount <= 0 || amount > intent.amount_capturable) {
      throw invalidRequest(
        `The amount to capture (${amount}) must be positive and at most the amount capturable (${intent.amount_capturable}).`,
        'amount_too_large',
        'amount_to_capture',
      );
    }
    assertStripeAmount(intent.currency, amount, 'amount_to_capture');
    if (input.metadata) mergeMetadata(intent.metadata, input.metadata);
    const charge = this.#charge(intent.latest_charge!);
    const finished = this.#capture(intent, charge, amount, input.finalCapture !== false);
    this.events.record('charge.captured', charge);
    this.events.record(finished ? 'payment_intent.succeeded' : 'payment_intent.amount_capturable_updated', intent);
    return intent;
  }

  /** A refund through the API. Events: `refund.created`, then `charge.refunded` (or `refund.failed`). */
  createRefund(input: NewRefund): FakeRefund {
    const charge = this.#refundedCharge(input);
    if (input.reason !== undefined && !REFUND_REASONS.includes(input.reason)) {
      throw invalidRequest(`Invalid reason: must be one of ${REFUND_REASONS.join(', ')}`, 'parameter_invalid_string', 'reason');
    }
    return this.#refund(charge, input.amount, (input.reason as RefundReason | undefined) ?? null, input.metadata ?? {});
  }

  /**
   * A refund made in the Stripe dashboard (or by another system on the account): no metadata of ours,
   * any reason Stripe knows, and no API request behind its events.
   */
  refundFromDashboard(input: { paymentIntentId: string; amount?: number; reason?: RefundReason | null }): FakeRefund {
    const charge = this.#refundedCharge({ paymentIntent: input.paymentIntentId });
    return this.#outsideRequest(() => this.#refund(charge, input.amount, input.reason ?? null, {}));
  }

  /** The next refunds end in these statuses, in order, instead of `succeeded`. */
  refundOutcomeNext(...statuses: RefundStatus[]): void {
    this.#refundOutcomes.push(...statuses);
  }

  /** A pending refund completes. Event: `refund.updated`. */
  succeedRefund(id: string): FakeRefund {
    const refund = this.#refundIn(id, ['pending']);
    refund.status = 'succeeded';
    this.#outsideRequest(() => this.events.record('refund.updated', refund, { status: 'pending' }));
    return refund;
  }

  /**
   * A refund fails after it was accepted (a closed card account, days later): the money comes back to
   * the balance through a `refund_failure` transaction and the charge's `amount_refunded` goes down.
   * Events: `refund.updated`, `refund.failed`, `charge.updated`.
   */
  failRefund(id: string, failureReason = 'expired_or_canceled_card'): FakeRefund {
    const refund = this.#refundIn(id, ['pending', 'succeeded']);
    const charge = this.#charge(refund.charge);
    const previous = { status: refund.status };
    const chargeBefore = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
    refund.status = 'failed';
    refund.failure_reason = failureReason;
    refund.failure_balance_transaction = this.#addBalanceTransaction('refund_failure', refund.amount, refund.currency, refund.id).id;
    charge.amount_refunded -= refund.amount;
    charge.refunded = false;
    this.#outsideRequest(() => {
      this.events.record('refund.updated', refund, previous);
      this.events.record('refund.failed', refund);
      this.events.record('charge.updated', charge, chargeBefore);
    });
    return refund;
  }

  /**
   * Settle balance transactions now: all of them, one payment intent's (its captures and refunds), or one.
   * Their `available_on` moves to now when it was later. Returns what changed.
   */
  markAvailable(filter: { paymentIntentId?: string; balanceTransactionId?: string } = {}): FakeBalanceTransaction[] {
    const now = this.clock.seconds();
    const changed = [...this.balanceTransactions.values()].filter(
      (transaction) =>
        transaction.status === 'pending' &&
        (filter.balanceTransactionId === undefined || transaction.id === filter.balanceTransactionId) &&
        (filter.paymentIntentId === undefined || this.paymentIntentOf(transaction) === filter.paymentIntentId),
    );
    for (const transaction of changed) {
      transaction.status = 'available';
      transaction.available_on = Math.min(transaction.available_on, now);
    }
    return changed;
  }

  find(id: string): FakeStripeObject | undefined {
    return this.paymentIntents.get(id) ?? this.charges.get(id) ?? this.refunds.get(id) ?? this.balanceTransactions.get(id);
  }

  chargesOf(paymentIntentId: string): FakeCharge[] {
    return [...(this.#chargesByIntent.get(paymentIntentId) ?? [])];
  }

  /** Oldest first, like every collection here (lists answer newest first). */
  refundsOf(filter: { paymentIntentId?: string; chargeId?: string }): FakeRefund[] {
    let refunds: FakeRefund[];
    if (filter.chargeId !== undefined) refunds = [...(this.#refundsByCharge.get(filter.chargeId) ?? [])];
    else if (filter.paymentIntentId !== undefined) refunds = this.chargesOf(filter.paymentIntentId).flatMap((charge) => this.refundsOf({ chargeId: charge.id }));
    else refunds = [...this.refunds.values()];
    return refunds.filter((refund) => filter.paymentIntentId === undefined || refund.payment_intent === filter.paymentIntentId);
  }

  balanceTransactionsOf(filter: { source?: string; type?: string }): FakeBalanceTransaction[] {
    const candidates = filter.source === undefined ? [...this.balanceTransactions.values()] : (this.#transactionsBySource.get(filter.source) ?? []);
    return candidates.filter((transaction) => filter.type === undefined || transaction.type === filter.type);
  }

  paymentIntentOf(transaction: FakeBalanceTransaction): string | undefined {
    const source = this.charges.get(transaction.source) ?? this.refunds.get(transaction.source);
    return source?.payment_intent;
  }

  /** Returns whether the intent is now fully captured (`succeeded`). */
  #capture(intent: FakePaymentIntent, charge: FakeCharge, amount: number, final: boolean): boolean {
    const transaction = this.#addBalanceTransaction('charge', amount, charge.currency, charge.id);
    charge.amount_captured += amount;
    charge.captured = true;
    charge.balance_transaction = transaction.id;
    intent.amount_received += amount;
    intent.amount_capturable -= amount;
    if (final || intent.amount_capturable === 0) {
      intent.amount_capturable = 0;
      intent.status = 'succeeded';
    }
    return intent.status === 'succeeded';
  }

  #refund(charge: FakeCharge, requested: number | undefined, reason: FakeRefund['reason'], metadata: Metadata): FakeRefund {
    const refundable = charge.amount_captured - charge.amount_refunded;
    if (charge.amount_captured > 0 && refundable === 0) {
      throw invalidRequest(`Charge ${charge.id} has already been refunded.`, 'charge_already_refunded');
    }
    const amount = requested ?? refundable;
    if (amount <= 0 || amount > refundable) {
      throw invalidRequest(`Refund amount (${amount}) is greater than unrefunded amount on charge (${refundable})`, 'amount_too_large', 'amount');
    }
    assertStripeAmount(charge.currency, amount, 'amount');
    const status = this.#refundOutcomes.shift() ?? 'succeeded';
    const refund: FakeRefund = {
      id: newId('re'),
      object: 'refund',
      amount,
      balance_transaction: null,
      charge: charge.id,
      created: this.clock.seconds(),
      currency: charge.currency,
      metadata: { ...metadata },
      payment_intent: charge.payment_intent,
      reason,
      status,
      ...(status === 'failed' ? { failure_reason: 'unknown' } : {}),
    };
    this.refunds.set(refund.id, refund);
    listed(this.#refundsByCharge, charge.id, refund);
    this.events.record('refund.created', refund);
    // A refund that failed on the spot moved nothing; one that succeeded or is pending is owed already.
    if (status === 'succeeded' || status === 'pending') {
      const before = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
      refund.balance_transaction = this.#addBalanceTransaction('refund', -amount, charge.currency, refund.id).id;
      charge.amount_refunded += amount;
      charge.refunded = charge.amount_refunded === charge.amount_captured;
      this.events.record('charge.refunded', charge, before);
    } else {
      this.events.record(`refund.${status}`, refund);
    }
    return refund;
  }

  #refundedCharge(input: { paymentIntent?: string; charge?: string }): FakeCharge {
    if ((input.paymentIntent === undefined) === (input.charge === undefined)) {
      throw invalidRequest('You must pass exactly one of payment_intent or charge.', 'parameter_missing');
    }
    if (input.charge !== undefined) return this.#charge(input.charge, 'charge');
    const intent = this.paymentIntents.get(input.paymentIntent!);
    if (!intent) throw resourceMissing('payment_intent', input.paymentIntent!, 'payment_intent');
    const charge = intent.latest_charge ? this.charges.get(intent.latest_charge) : undefined;
    if (!charge || charge.amount_captured === 0) {
      throw invalidRequest(`PaymentIntent ${intent.id} has no captured charge to refund.`, 'charge_not_refundable');
    }
    return charge;
  }

  #refundIn(id: string, statuses: RefundStatus[]): FakeRefund {
    const refund = this.refunds.get(id);
    if (!refund) throw resourceMissing('refund', id);
    if (!statuses.includes(refund.status)) throw new Error(`Refund ${id} is ${refund.status}, not ${statuses.join(' or ')}`);
    return refund;
  }

  #charge(id: string, param?: string): FakeCharge {
    const charge = this.charges.get(id);
    if (!charge) throw resourceMissing('charge', id, param);
    return charge;
  }

  /** Dashboard actions and Stripe's own changes have no API request behind their events. */
  #outsideRequest<T>(run: () => T): T {
    const request = this.events.request;
    this.events.request = null;
    try {
      return run();
    } finally {
      this.events.request = request;
    }
  }

  #addBalanceTransaction(type: BalanceTransactionType, amount: number, currency: string, source: string): FakeBalanceTransaction {
    const created = this.clock.seconds();
    const transaction: FakeBalanceTransaction = {
      id: newId('txn'),
      object: 'balance_transaction',
      amount,
      available_on: created + this.#settlementDelaySeconds,
      created,
      currency,
      fee: 0,
      net: amount,
      reporting_category: type,
      source,
      status: this.#settlementDelaySeconds === 0 ? 'available' : 'pending',
      type,
    };
    this.balanceTransactions.set(transaction.id, transaction);
    listed(this.#transactionsBySource, source, transaction);
    return transaction;
  }
}

function listed<T>(index: Map<string, T[]>, key: string, value: T): void {
  const list = index.get(key);
  if (list) list.push(value);
  else index.set(key, [value]);
}

function newId(prefix: 'pi' | 'ch' | 're' | 'txn'): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}
