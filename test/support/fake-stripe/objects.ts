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
  reason: 'duplicate' | 'fraudulent' | 'requested_by_customer' | 'expired_uncaptured_charge' | null;
  status: RefundStatus;
  failure_reason?: string;
  /** The `refund_failure` balance transaction that gave the money back, once a refund failed. */
  failure_balance_transaction?: string;
};

export type FakeBalanceTransaction = {
  id: string;
  object: 'balance_transaction';
  /** Positive for a capture and a refund failure (the money comes back), negative for a refund. */
  amount: number;
  available_on: number;
  created: number;
  currency: string;
  fee: 0;
  net: number;
  reporting_category: BalanceTransactionType;
  /** The charge (for `charge`) or the refund (for `refund` and `refund_failure`). */
  source: string;
  status: 'pending' | 'available';
  type: BalanceTransactionType;
};

export type BalanceTransactionType = 'charge' | 'refund' | 'refund_failure';

/**
 * A webhook event as Stripe sends it (API version 2022-11-15 and later): `data.object` is a snapshot of
 * the object when it changed, a charge without its `refunds` list; `created` is when it happened.
 */
export type FakeEvent = {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: 1;
  /** The API request that caused it; `id: null` for changes made in the dashboard or by Stripe itself. */
  request: { id: string | null; idempotency_key: string | null };
  type: string;
};

export type FakeStripeObject = FakePaymentIntent | FakeCharge | FakeRefund | FakeBalanceTransaction;
