import type Stripe from 'stripe';
import {
  GatewayUnavailableError,
  type PaymentState,
  type ProcessorRefund,
  type RefundReason,
} from '../../domain/gateway/billing-gateway-client.js';
import { refundReasonOf } from '../../domain/processor-events/stripe-views.js';
import { fromStripeAmount } from '../../domain/gateway/stripe-units.js';

/** Stripe knows three reasons; ours without an equivalent go as requested_by_customer, our code in metadata. */
export const STRIPE_REFUND_REASON: Record<RefundReason, Stripe.RefundCreateParams.Reason> = {
  DUPLICATE: 'duplicate',
  FRAUDULENT: 'fraudulent',
  REQUESTED_BY_CUSTOMER: 'requested_by_customer',
  SERVICE_NOT_PROVIDED: 'requested_by_customer',
  GOODWILL: 'requested_by_customer',
  OTHER: 'requested_by_customer',
};

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
    reason: refundReasonOf(metadata.reason_code, refund.reason),
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
