/**
 * The payment-gateway facade. Capture and refund requests carry an idempotency key (the payment
 * attempt's id): sending the same request again with the same key must return the first result and
 * never move money twice. That is also how reconciliation settles an attempt whose answer was lost.
 *
 * Outcomes:
 * - a result with `status: 'succeeded'` (or `'pending'` for a refund the processor has not finished);
 * - `GatewayDeclinedError` when the processor refused (card declined, nothing left to capture…);
 * - `GatewayUnavailableError` when the outcome is unknown (timeout, network, 5xx): the caller keeps
 *   the attempt pending and reconciliation asks again later.
 */

export type CaptureRequest = {
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
  /** What this request captured (not the payment intent's running total). */
  amountCaptured: number;
  capturedAt: Date;
  /** Set when the processor reports the funds as settled already. */
  settledAt: Date | null;
};

export const REFUND_REASONS = ['DUPLICATE', 'FRAUDULENT', 'REQUESTED_BY_CUSTOMER', 'SERVICE_NOT_PROVIDED', 'GOODWILL', 'OTHER'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

export type RefundRequest = {
  idempotencyKey: string;
  invoiceId: string;
  paymentIntentId: string;
  amount: number;
  currency: string;
  reason: RefundReason;
};

export type RefundResult = {
  status: 'succeeded' | 'pending';
  refundId: string;
  amount: number;
  createdAt: Date;
};

export type PaymentState = {
  paymentIntentId: string;
  status: 'requires_capture' | 'succeeded' | 'canceled' | 'processing' | 'failed';
  chargeId: string | null;
  amountCaptured: number;
  amountRefunded: number;
  currency: string;
  settledAt: Date | null;
};

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
  /** The processor's view of one payment; null when it does not know the payment intent. */
  getPayment(paymentIntentId: string): Promise<PaymentState | null>;
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
