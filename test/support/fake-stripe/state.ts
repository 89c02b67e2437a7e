import { assertStripeAmount } from './amounts.js';
import { invalidRequest, resourceMissing } from './errors.js';
import type { FakeCharge, FakePaymentIntent, FakeRefund, Metadata, RefundStatus } from './objects.js';
import { mergeMetadata } from './params.js';
import { FakeStripeStore, newId, type FakeStripeStoreOptions } from './store.js';

export type FakeStripeStateOptions = FakeStripeStoreOptions;

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
 * The rules Stripe applies when the account changes, each change recording the events Stripe would
 * send. The HTTP layer turns requests into these calls; tests call them directly to seed, to act "in the
 * dashboard" and to move time along (`clock`, `markAvailable`).
 */
export class FakeStripeState extends FakeStripeStore {
  readonly #refundOutcomes: RefundStatus[] = [];

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
    this.addPaymentIntent(intent, charge);
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
    const charge = this.chargeOrThrow(intent.latest_charge!);
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
    return this.outsideRequest(() => this.#refund(charge, input.amount, input.reason ?? null, {}));
  }

  /** The next refunds end in these statuses, in order, instead of `succeeded`. */
  refundOutcomeNext(...statuses: RefundStatus[]): void {
    this.#refundOutcomes.push(...statuses);
  }

  /** A pending refund completes. Event: `refund.updated`. */
  succeedRefund(id: string): FakeRefund {
    const refund = this.#refundIn(id, ['pending']);
    refund.status = 'succeeded';
    this.outsideRequest(() => this.events.record('refund.updated', refund, { status: 'pending' }));
    return refund;
  }

  /**
   * A refund fails after it was accepted (a closed card account, days later): the money comes back to
   * the balance through a `refund_failure` transaction and the charge's `amount_refunded` goes down.
   * Events: `refund.updated`, `refund.failed`, `charge.updated`.
   */
  failRefund(id: string, failureReason = 'expired_or_canceled_card'): FakeRefund {
    const refund = this.#refundIn(id, ['pending', 'succeeded']);
    const charge = this.chargeOrThrow(refund.charge);
    const previous = { status: refund.status };
    const chargeBefore = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
    refund.status = 'failed';
    refund.failure_reason = failureReason;
    refund.failure_balance_transaction = this.addBalanceTransaction('refund_failure', refund.amount, refund.currency, refund.id).id;
    charge.amount_refunded -= refund.amount;
    charge.refunded = false;
    this.outsideRequest(() => {
      this.events.record('refund.updated', refund, previous);
      this.events.record('refund.failed', refund);
      this.events.record('charge.updated', charge, chargeBefore);
    });
    return refund;
  }

  /** Returns whether the intent is now fully captured (`succeeded`). */
  #capture(intent: FakePaymentIntent, charge: FakeCharge, amount: number, final: boolean): boolean {
    const transaction = this.addBalanceTransaction('charge', amount, charge.currency, charge.id);
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
    this.addRefund(refund);
    // A refund that failed on the spot moved nothing; one that succeeded or is pending is owed already.
    if (status === 'succeeded' || status === 'pending') {
      const before = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
      refund.balance_transaction = this.addBalanceTransaction('refund', -amount, charge.currency, refund.id).id;
      charge.amount_refunded += amount;
      charge.refunded = charge.amount_refunded === charge.amount_captured;
      this.events.record('refund.created', refund);
      this.events.record('charge.refunded', charge, before);
    } else {
      this.events.record('refund.created', refund);
      if (status === 'failed') this.events.record('refund.failed', refund);
    }
    return refund;
  }

  #refundedCharge(input: { paymentIntent?: string; charge?: string }): FakeCharge {
    if ((input.paymentIntent === undefined) === (input.charge === undefined)) {
      throw invalidRequest('You must pass exactly one of payment_intent or charge.', 'parameter_missing');
    }
    if (input.charge !== undefined) return this.chargeOrThrow(input.charge, 'charge');
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
}
