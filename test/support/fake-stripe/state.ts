import { randomBytes } from 'node:crypto';
import { invalidRequest, resourceMissing } from './errors.js';
import type {
  FakeBalanceTransaction,
  FakeCharge,
  FakePaymentIntent,
  FakeRefund,
  FakeStripeObject,
  Metadata,
  RefundStatus,
} from './objects.js';

export type FakeStripeStateOptions = {
  /**
   * When a new balance transaction's funds become available (Stripe: about two days). With 0 they are
   * available at once; otherwise they stay pending until a test calls `markAvailable`.
   */
  settlementDelaySeconds?: number;
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
const REFUND_REASONS: readonly string[] = ['duplicate', 'fraudulent', 'requested_by_customer'] satisfies RefundReason[];

/**
 * What the fake Stripe account holds, and the rules Stripe applies when it changes. The HTTP layer turns
 * requests into these calls; tests call them directly to seed and to move time along (`markAvailable`).
 */
export class FakeStripeState {
  readonly paymentIntents = new Map<string, FakePaymentIntent>();
  readonly charges = new Map<string, FakeCharge>();
  readonly refunds = new Map<string, FakeRefund>();
  readonly balanceTransactions = new Map<string, FakeBalanceTransaction>();
  readonly #settlementDelaySeconds: number;
  readonly #now: () => Date;
  readonly #refundOutcomes: RefundStatus[] = [];

  constructor(options: FakeStripeStateOptions = {}) {
    this.#settlementDelaySeconds = options.settlementDelaySeconds ?? 2 * 24 * 3600;
    this.#now = options.now ?? (() => new Date());
  }

  /** A confirmed payment intent, as after the customer's checkout: its charge is authorised. Returns its id. */
  createPaymentIntent(input: NewPaymentIntent): string {
    const created = this.#seconds();
    const id = newId('pi');
    const charge: FakeCharge = {
      id: newId('ch'),
      object: 'charge',
      amount: input.amount,
      amount_captured: 0,
      amount_refunded: 0,
      balance_transaction: null,
      captured: false,
      created,
      currency: input.currency.toLowerCase(),
      metadata: { ...input.metadata },
      paid: true,
      payment_intent: id,
      refunded: false,
      status: 'succeeded',
      livemode: false,
    };
    this.charges.set(charge.id, charge);
    this.paymentIntents.set(id, {
      id,
      object: 'payment_intent',
      amount: input.amount,
      amount_capturable: input.amount,
      amount_received: 0,
      capture_method: input.captureMethod ?? 'manual',
      currency: charge.currency,
      created,
      latest_charge: charge.id,
      metadata: { ...input.metadata },
      status: 'requires_capture',
      last_payment_error: null,
      canceled_at: null,
      livemode: false,
    });
    if (input.captureMethod === 'automatic') this.capturePaymentIntent(id, {});
    return id;
  }

  /** Stripe's capture: partial captures release the rest unless `finalCapture` is false (multicapture). */
  capturePaymentIntent(id: string, input: { amountToCapture?: number; finalCapture?: boolean }): FakePaymentIntent {
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
    const charge = this.#charge(intent.latest_charge!);
    const transaction = this.#addBalanceTransaction('charge', amount, charge.currency, charge.id);
    charge.amount_captured += amount;
    charge.captured = true;
    charge.balance_transaction = transaction.id;
    intent.amount_received += amount;
    intent.amount_capturable -= amount;
    if (input.finalCapture !== false || intent.amount_capturable === 0) {
      intent.amount_capturable = 0;
      intent.status = 'succeeded';
    }
    return intent;
  }

  createRefund(input: {
    paymentIntent?: string;
    charge?: string;
    amount?: number;
    reason?: string;
    metadata?: Metadata;
  }): FakeRefund {
    const charge = this.#refundedCharge(input);
    if (input.reason !== undefined && !REFUND_REASONS.includes(input.reason)) {
      throw invalidRequest(`Invalid reason: must be one of ${REFUND_REASONS.join(', ')}`, 'parameter_invalid_string', 'reason');
    }
    const refundable = charge.amount_captured - charge.amount_refunded;
    if (charge.amount_captured > 0 && refundable === 0) {
      throw invalidRequest(`Charge ${charge.id} has already been refunded.`, 'charge_already_refunded');
    }
    const amount = input.amount ?? refundable;
    if (amount <= 0 || amount > refundable) {
      throw invalidRequest(
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${refundable})`,
        'amount_too_large',
        'amount',
      );
    }
    const status = this.#refundOutcomes.shift() ?? 'succeeded';
    const refund: FakeRefund = {
      id: newId('re'),
      object: 'refund',
      amount,
      balance_transaction: null,
      charge: charge.id,
      created: this.#seconds(),
      currency: charge.currency,
      metadata: { ...input.metadata },
      payment_intent: charge.payment_intent,
      reason: (input.reason as RefundReason | undefined) ?? null,
      status,
      ...(status === 'failed' ? { failure_reason: 'unknown' } : {}),
    };
    // A refund that failed on the spot moved nothing; one that succeeded or is pending is owed already.
    if (status === 'succeeded' || status === 'pending') {
      refund.balance_transaction = this.#addBalanceTransaction('refund', -amount, charge.currency, refund.id).id;
      charge.amount_refunded += amount;
      charge.refunded = charge.amount_refunded === charge.amount_captured;
    }
    this.refunds.set(refund.id, refund);
    return refund;
  }

  /** The next refunds end in these statuses, in order, instead of `succeeded`. */
  refundOutcomeNext(...statuses: RefundStatus[]): void {
    this.#refundOutcomes.push(...statuses);
  }

  /**
   * Settle balance transactions now: all of them, one payment intent's (its captures and refunds), or one.
   * Their `available_on` moves to now when it was later. Returns what changed.
   */
  markAvailable(filter: { paymentIntentId?: string; balanceTransactionId?: string } = {}): FakeBalanceTransaction[] {
    const now = this.#seconds();
    const changed = [...this.balanceTransactions.values()].filter(
      (transaction) =>
        transaction.status === 'pending' &&
        (filter.balanceTransactionId === undefined || transaction.id === filter.balanceTransactionId) &&
        (filter.paymentIntentId === undefined || this.#paymentIntentOf(transaction) === filter.paymentIntentId),
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
    return [...this.charges.values()].filter((charge) => charge.payment_intent === paymentIntentId);
  }

  refundsOf(filter: { paymentIntentId?: string; chargeId?: string }): FakeRefund[] {
    return [...this.refunds.values()].filter(
      (refund) =>
        (filter.paymentIntentId === undefined || refund.payment_intent === filter.paymentIntentId) &&
        (filter.chargeId === undefined || refund.charge === filter.chargeId),
    );
  }

  balanceTransactionsOf(filter: { source?: string; type?: string }): FakeBalanceTransaction[] {
    return [...this.balanceTransactions.values()].filter(
      (transaction) =>
        (filter.source === undefined || transaction.source === filter.source) &&
        (filter.type === undefined || transaction.type === filter.type),
    );
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

  #charge(id: string, param?: string): FakeCharge {
    const charge = this.charges.get(id);
    if (!charge) throw resourceMissing('charge', id, param);
    return charge;
  }

  #paymentIntentOf(transaction: FakeBalanceTransaction): string | undefined {
    const source = this.charges.get(transaction.source) ?? this.refunds.get(transaction.source);
    return source?.payment_intent;
  }

  #addBalanceTransaction(type: 'charge' | 'refund', amount: number, currency: string, source: string): FakeBalanceTransaction {
    const created = this.#seconds();
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
    return transaction;
  }

  #seconds(): number {
    return Math.floor(this.#now().getTime() / 1000);
  }
}

function newId(prefix: 'pi' | 'ch' | 're' | 'txn'): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}
