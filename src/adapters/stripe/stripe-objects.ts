import type Stripe from 'stripe';
import {
  GatewayUnavailableError,
  REFUND_REASONS,
  type PaymentState,
  type ProcessorRefund,
  type RefundReason,
} from '../../domain/gateway/billing-gateway-client.js';
import { fromStripeAmount } from './stripe-units.js';

/** Stripe knows three reasons; ours without an equivalent go as requested_by_customer, our code in metadata. */
export const STRIPE_REFUND_REASON: Record<RefundReason, Stripe.RefundCreateParams.Reason> = {
  DUPLICATE: 'duplicate',
  FRAUDULENT: 'fraudulent',
  REQUESTED_BY_CUSTOMER: 'requested_by_customer',
  SERVICE_NOT_PROVIDED: 'requested_by_customer',
  GOODWILL: 'requested_by_customer',
  OTHER: 'requested_by_customer',
};

const OUR_REASON: Partial<Record<string, RefundReason>> = {
  duplicate: 'DUPLICATE',
  fraudulent: 'FRAUDULENT',
  requested_by_customer: 'REQUESTED_BY_CUSTOMER',
};

const isRefundReason = (value: string | undefined): value is RefundReason => (REFUND_REASONS as readonly string[]).includes(value ?? '');

/**
 * Each capture writes `cap_<attempt id without dashes>` into the intent's metadata (Stripe merges it on
 * capture), so a later lookup knows which of our attempts captured. 36 characters: Stripe allows 40.
 */
const CAPTURE_KEY = /^cap_([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function captureMetadataKey(attemptId: string): string {
  const id = attemptId.toLowerCase();
  if (!UUID.test(id)) throw new RangeError(`A capture's idempotency key must be its payment attempt's uuid, got "${attemptId}"`);
  return `cap_${id.replaceAll('-', '')}`;
}

export function captureAttemptIds(metadata: Stripe.Metadata): string[] {
  return Object.keys(metadata).flatMap((key) => {
    const parts = CAPTURE_KEY.exec(key);
    return parts ? [parts.slice(1).join('-')] : [];
  });
}

/** A refund as the facade reports it, whoever made it; amounts in ledger units. */
export function processorRefund(refund: Stripe.Refund, paymentIntentId: string): ProcessorRefund {
  const metadata = refund.metadata ?? {};
  return {
    id: refund.id,
    paymentIntentId,
    chargeId: idOf(refund.charge),
    amount: fromStripeAmount(refund.currency, refund.amount),
    currency: refund.currency.toUpperCase(),
    status: refundStatus(refund.status),
    attemptId: metadata.payment_attempt_id ?? null,
    reason: isRefundReason(metadata.reason_code) ? metadata.reason_code : (OUR_REASON[refund.reason ?? ''] ?? 'OTHER'),
    failureReason: refund.failure_reason ?? null,
    createdAt: fromUnix(refund.created),
  };
}

/** `requires_action` (the customer must give bank details) and a missing status are not final yet. */
function refundStatus(status: string | null): ProcessorRefund['status'] {
  switch (status) {
    case 'succeeded':
    case 'failed':
    case 'canceled':
      return status;
    default:
      return 'pending';
  }
}

/**
 * Our statuses are the processor's view as reconciliation needs it. Intents still waiting for the
 * customer (payment method, confirmation, action) have captured nothing yet: `processing`, unless the
 * last attempt failed.
 */
export function paymentStatus(intent: Stripe.PaymentIntent): PaymentState['status'] {
  switch (intent.status) {
    case 'requires_capture':
      return 'requires_capture';
    case 'succeeded':
      return 'succeeded';
    case 'canceled':
      return 'canceled';
    case 'processing':
      return 'processing';
    default:
      return intent.last_payment_error ? 'failed' : 'processing';
  }
}

/**
 * We always ask Stripe to expand these; an id here means the response is not what we asked for. The
 * request may well have succeeded, so the outcome is unknown rather than declined.
 */
export function expanded<T extends { id: string }>(value: string | T | null, field: string): T {
  if (value === null || typeof value === 'string') {
    throw new GatewayUnavailableError(`Stripe's answer did not include an expanded ${field}`);
  }
  return value;
}

export function idOf(value: string | { id: string } | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : value.id;
}

export function chargeTransaction(charge: Stripe.Charge | null): Stripe.BalanceTransaction | null {
  if (charge === null || charge.balance_transaction === null) return null;
  return expanded(charge.balance_transaction, 'balance_transaction');
}

export function settledAt(transaction: Stripe.BalanceTransaction | null): Date | null {
  return transaction?.status === 'available' ? fromUnix(transaction.available_on) : null;
}

export function fromUnix(seconds: number): Date {
  return new Date(seconds * 1000);
}

export function toUnix(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
