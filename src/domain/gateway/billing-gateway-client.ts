/**
 * The payment-gateway facade. The processor is the source of truth for money that moved there; this
 * interface is how the domain moves money and how it asks what moved.
 *
 * Money-moving calls (`capture`, `refund`) carry an idempotency key, the payment attempt's id, which
 * also travels in the processor object's metadata. The domain re-sends a request only while the
 * processor surely still holds its key (Stripe keeps keys about 24 hours; `GATEWAY_RESEND_WINDOW_SECONDS`
 * is well under that); after it, the outcome is looked up with `getPayment`, never re-sent.
 *
 * Outcomes of a money-moving call:
 * - a result (`succeeded`, or `pending` for a refund the processor has not finished);
 * - `GatewayDeclinedError` when the processor refused (card declined, nothing left to capture…). After
 *   an unknown outcome a decline may only mean "already done": the domain reads the payment first;
 * - `GatewayUnavailableError` when the outcome is unknown (timeout, network, 5xx, a concurrent request
 *   with the same key): the attempt stays unsettled and its settle job looks it up later.
 */

export type CaptureRequest = {
  /** The payment attempt's id: the idempotency key, and in metadata so that a lookup finds the capture. */
  idempotencyKey: string;
  invoiceId: string;
  /** The invoice's payment intent, when it has one; the synthetic gateway makes one up otherwise. */
  paymentIntentId: string | null;
  amount: number;
  currency: string;
  /** False while more partial captures may follow (Stripe: `final_capture`). */
  finalCapture: boolean;
};

export type CaptureResult = {
  status: 'succeeded';
  paymentIntentId: string;
  /** The processor's id for the captured payment (Stripe: the latest charge `ch_…`). */
  chargeId: string;
  /** What this request captured (not the payment's running total). */
  amountCaptured: number;
  /** The processor's running total for the payment after this capture: the ledger records up to it. */
  capturedTotal: number;
  /** When the processor captured (Stripe: the capture's balance transaction). */
  capturedAt: Date;
  /** Set when the processor reports the funds as settled already. */
  settledAt: Date | null;
};

export const REFUND_REASONS = ['DUPLICATE', 'FRAUDULENT', 'REQUESTED_BY_CUSTOMER', 'SERVICE_NOT_PROVIDED', 'GOODWILL', 'OTHER'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

export type RefundRequest = {
  /** The payment attempt's id: the idempotency key, and `payment_attempt_id` in the refund's metadata. */
  idempotencyKey: string;
  invoiceId: string;
  paymentIntentId: string;
  amount: number;
  currency: string;
  reason: RefundReason;
};

/** A refund as the processor holds it, whoever made it (this service, its dashboard, another system). */
export type ProcessorRefund = {
  id: string;
  paymentIntentId: string;
  chargeId: string | null;
  amount: number;
  /** ISO 4217, upper case. */
  currency: string;
  status: 'succeeded' | 'pending' | 'failed' | 'canceled';
  /** Our payment attempt's id (metadata `payment_attempt_id`) when this service made the refund. */
  attemptId: string | null;
  /** Our reason code (metadata `reason_code`) when we made it, else the processor's reason mapped, else OTHER. */
  reason: RefundReason;
  failureReason: string | null;
  createdAt: Date;
};

export type RefundResult = ProcessorRefund & { status: 'succeeded' | 'pending' };

export type PaymentState = {
  paymentIntentId: string;
  status: 'requires_capture' | 'succeeded' | 'canceled' | 'processing' | 'failed';
  /** ISO 4217, upper case. */
  currency: string;
  /** The invoice id in the payment's metadata, when it has one. */
  invoiceId: string | null;
  chargeId: string | null;
  /** What the processor has captured for the payment so far. */
  amountCaptured: number;
  /** When the processor last captured on it; null when nothing is captured. */
  capturedAt: Date | null;
  /** The payment attempt ids of the captures that moved money on it (Stripe: the capture's metadata). */
  captureAttemptIds: string[];
  /** Every refund of the payment, in any status, oldest first. */
  refunds: ProcessorRefund[];
  /** When the latest capture's funds settled; null while they have not. */
  settledAt: Date | null;
};

/** What the processor has refunded on a payment: its refunds that moved money (succeeded or pending). */
export function processorRefunded(payment: Pick<PaymentState, 'refunds'>): number {
  return payment.refunds.filter((refund) => refund.status === 'succeeded' || refund.status === 'pending').reduce((total, refund) => total + refund.amount, 0);
}

/** One line of the processor's statement: money that moved for a payment intent. */
export type SettlementRecord = {
  paymentIntentId: string;
  /** The processor's id for the line (Stripe: balance transaction `txn_…`). */
  id: string;
  type: 'charge' | 'refund';
  /** Positive for charges, negative for refunds, in minor units. */
  amount: number;
  currency: string;
  /** When the funds became available (settled). */
  availableOn: Date;
};

export interface BillingGatewayClient {
  readonly name: 'synthetic' | 'stripe';
  capture(request: CaptureRequest): Promise<CaptureResult>;
  refund(request: RefundRequest): Promise<RefundResult>;
  /** The processor's view of one payment, refunds included; null when it does not know the payment intent. */
  getPayment(paymentIntentId: string): Promise<PaymentState | null>;
  /**
   * The payment intents on which money moved (captures, refunds, refund failures) or which were created
   * at or after `since`, each once. Its cost grows with the activity since then, not with the account's
   * size (Stripe: the list endpoints filtered by `created`, paginated).
   */
  listActivity(since: Date): Promise<string[]>;
  /** Settlement lines for these payment intents (reconciliation asks in batches). */
  listSettlements(paymentIntentIds: readonly string[]): Promise<SettlementRecord[]>;
}

export class GatewayDeclinedError extends Error {
  override name = 'GatewayDeclinedError';
  constructor(
    readonly declineCode: string,
    message: string,
  ) {
    super(message);
  }
}

export class GatewayUnavailableError extends Error {
  override name = 'GatewayUnavailableError';
}

/**
 * The processor refused our credentials (Stripe: 401/403). Nothing was processed and retrying cannot
 * help until an operator fixes the configuration, so it is a decline for the caller (the attempt fails
 * with a code that names the cause) and a separate class so that logs and alerts can single it out.
 */
export class GatewayConfigurationError extends GatewayDeclinedError {
  override name = 'GatewayConfigurationError';
}
