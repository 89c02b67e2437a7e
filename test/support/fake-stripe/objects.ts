/**
 * The fake's data model, in Stripe's JSON shapes (the fields our code and tests read, not every field
 * Stripe has). Objects refer to each other by id, as Stripe stores them; `expand` swaps ids for objects.
 *
 *   payment intent ─latest_charge→ charge ─balance_transaction→ balance transaction (one per capture)
 *                                     ↑
 *                   refund ─charge────┘   refund ─balance_transaction→ balance transaction (negative)
 */
export type Metadata = Record<string, string>;

export type FakePaymentIntent = {
  id: string;
  object: 'payment_intent';
  amount: number;
  /** What can still be captured: the authorisation minus captures, 0 after a final capture. */
  amount_capturable: number;
  /** What has been captured, summed over every capture. */
  amount_received: number;
  capture_method: 'manual' | 'automatic';
  currency: string;
  created: number;
  latest_charge: string | null;
  metadata: Metadata;
  status: 'requires_capture' | 'succeeded' | 'canceled';
  last_payment_error: null;
  canceled_at: number | null;
  livemode: false;
};

export type FakeCharge = {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  /** Includes pending refunds, as at Stripe. */
  amount_refunded: number;
  /** The latest capture's balance transaction; all of them are listed by `source`. */
  balance_transaction: string | null;
  captured: boolean;
  created: number;
  currency: string;
  metadata: Metadata;
  paid: true;
  payment_intent: string;
  refunded: boolean;
  status: 'succeeded';
  livemode: false;
};

export type RefundStatus = 'pending' | 'succeeded' | 'failed' | 'canceled';

export type FakeRefund = {
  id: string;
  object: 'refund';
  amount: number;
  balance_transaction: string | null;
  charge: string;
  created: number;
  currency: string;
  metadata: Metadata;
  payment_intent: string;
  reason: 'duplicate' | 'fraudulent' | 'requested_by_customer' | null;
  status: RefundStatus;
  failure_reason?: string;
};

export type FakeBalanceTransaction = {
  id: string;
  object: 'balance_transaction';
  /** Positive for a capture, negative for a refund. */
  amount: number;
  available_on: number;
  created: number;
  currency: string;
  fee: 0;
  net: number;
  reporting_category: 'charge' | 'refund';
  source: string;
  status: 'pending' | 'available';
  type: 'charge' | 'refund';
};

export type FakeStripeObject = FakePaymentIntent | FakeCharge | FakeRefund | FakeBalanceTransaction;
