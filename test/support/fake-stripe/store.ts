import { randomBytes } from 'node:crypto';
import { FakeClock } from './clock.js';
import { resourceMissing } from './errors.js';
import { EventLog } from './events.js';
import type {
  BalanceTransactionType,
  FakeBalanceTransaction,
  FakeCharge,
  FakePaymentIntent,
  FakeRefund,
  FakeStripeObject,
} from './objects.js';

export type FakeStripeStoreOptions = {
  /**
   * When a new balance transaction's funds become available (Stripe: about two days). With 0 they are
   * available at once; otherwise they stay pending until a test calls `markAvailable`.
   */
  settlementDelaySeconds?: number;
  /** The base of the fake's clock (default: the real time); tests move it on with `clock.advance`. */
  now?: () => Date;
};

/**
 * What the fake account holds and how to find it: the objects by id, looked up by owner without scanning
 * the whole account (benchmarks seed 100,000 payments), the clock and the event log. The rules for
 * changing them are in `FakeStripeState`.
 */
export class FakeStripeStore {
  readonly paymentIntents = new Map<string, FakePaymentIntent>();
  readonly charges = new Map<string, FakeCharge>();
  readonly refunds = new Map<string, FakeRefund>();
  readonly balanceTransactions = new Map<string, FakeBalanceTransaction>();
  readonly clock: FakeClock;
  readonly events: EventLog;
  readonly #settlementDelaySeconds: number;
  readonly #chargesByIntent = new Map<string, FakeCharge[]>();
  readonly #refundsByCharge = new Map<string, FakeRefund[]>();
  readonly #transactionsBySource = new Map<string, FakeBalanceTransaction[]>();

  constructor(options: FakeStripeStoreOptions = {}) {
    this.#settlementDelaySeconds = options.settlementDelaySeconds ?? 2 * 24 * 3600;
    this.clock = new FakeClock(options.now);
    this.events = new EventLog(this.clock);
  }

  protected addPaymentIntent(intent: FakePaymentIntent, charge: FakeCharge): void {
    this.paymentIntents.set(intent.id, intent);
    this.charges.set(charge.id, charge);
    listed(this.#chargesByIntent, intent.id, charge);
  }

  protected addRefund(refund: FakeRefund): void {
    this.refunds.set(refund.id, refund);
    listed(this.#refundsByCharge, refund.charge, refund);
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

  protected chargeOrThrow(id: string, param?: string): FakeCharge {
    const charge = this.charges.get(id);
    if (!charge) throw resourceMissing('charge', id, param);
    return charge;
  }

  /** Dashboard actions and Stripe's own changes have no API request behind their events. */
  protected outsideRequest<T>(run: () => T): T {
    const request = this.events.request;
    this.events.request = null;
    try {
      return run();
    } finally {
      this.events.request = request;
    }
  }

  protected addBalanceTransaction(type: BalanceTransactionType, amount: number, currency: string, source: string): FakeBalanceTransaction {
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

export function newId(prefix: 'pi' | 'ch' | 're' | 'txn'): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}
