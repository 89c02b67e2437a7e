import { REFUND_REASONS, type ProcessorRefund, type RefundReason } from '../gateway/billing-gateway-client.js';
import { captureAttemptIds } from '../gateway/capture-metadata.js';
import { fromStripeAmount } from '../gateway/stripe-units.js';
import { ProcessorEventError } from './processor-event-error.js';
import type { ProcessorView } from '../ledger/apply-processor-view.js';
import { currencyOf, fromUnixSeconds, type StripeCharge, type StripePaymentIntent, type StripeRefund } from './stripe-objects.js';

/** Stripe objects as the ledger reads the processor: views of a payment and refunds as the processor holds them. */

const STRIPE_REASONS: Record<string, RefundReason> = {
  duplicate: 'DUPLICATE',
  fraudulent: 'FRAUDULENT',
  requested_by_customer: 'REQUESTED_BY_CUSTOMER',
};

/** Our reason code from the refund's metadata when we made it, else Stripe's reason, else OTHER. */
export function refundReasonOf(ourCode: string | null | undefined, stripeReason: string | null | undefined): RefundReason {
  const ours = ourCode?.toUpperCase();
  if (ours && (REFUND_REASONS as readonly string[]).includes(ours)) return ours as RefundReason;
  return STRIPE_REASONS[stripeReason ?? ''] ?? 'OTHER';
}

/** A webhook's amount in the ledger's minor units (Stripe's differ for a few currencies, e.g. ISK). */
export function ledgerAmount(object: { currency: string }, stripeAmount: number): number {
  try {
    return fromStripeAmount(object.currency, stripeAmount);
  } catch (error) {
    throw new ProcessorEventError((error as Error).message);
  }
}

const REFUND_STATUSES: readonly ProcessorRefund['status'][] = ['succeeded', 'pending', 'failed', 'canceled'];

export function processorRefundOf(refund: StripeRefund, fallbackPaymentIntentId: string | null): ProcessorRefund {
  // requires_action and any status Stripe adds later: the money has left, as for pending.
  const status = (REFUND_STATUSES as readonly string[]).includes(refund.status ?? '') ? (refund.status as ProcessorRefund['status']) : 'pending';
  return {
    id: refund.id,
    paymentIntentId: refund.payment_intent ?? fallbackPaymentIntentId ?? '',
    chargeId: refund.charge,
    amount: ledgerAmount(refund, refund.amount),
    currency: currencyOf(refund),
    status,
    attemptId: refund.metadata.payment_attempt_id ?? null,
    reason: refundReasonOf(refund.metadata.reason_code, refund.reason),
    failureReason: refund.failure_reason ?? null,
    createdAt: fromUnixSeconds(refund.created),
  };
}

/**
 * A payment intent's view. `capturedAt` is the time of the event that reported a capture (Stripe sends
 * one per capture), so the invoice's captured_at is when the processor captured, in any delivery order.
 */
export function paymentIntentView(intent: StripePaymentIntent, capturedAt: Date | null): ProcessorView {
  return {
    paymentIntentId: intent.id,
    chargeId: intent.latest_charge,
    currency: currencyOf(intent),
    capturedTotal: ledgerAmount(intent, intent.amount_received),
    capturedAt: intent.amount_received > 0 ? capturedAt : null,
    captureAttemptIds: captureAttemptIds(intent.metadata),
    refunds: [],
  };
}

/**
 * A charge's view: its captured total and, in API versions before 2022-11-15, its refunds. Today's
 * charge events carry no refunds list: the caller fetches them (`refundsListed` is false then).
 */
export function chargeView(charge: StripeCharge, paymentIntentId: string, capturedAt: Date | null): ProcessorView & { refundsListed: boolean } {
  return {
    paymentIntentId,
    chargeId: charge.id,
    currency: currencyOf(charge),
    capturedTotal: charge.captured ? ledgerAmount(charge, charge.amount_captured) : null,
    // Without a capture event's time, the charge's creation is a lower bound of the capture's.
    capturedAt: charge.captured && charge.amount_captured > 0 ? (capturedAt ?? fromUnixSeconds(charge.created)) : null,
    captureAttemptIds: [],
    refunds: (charge.refunds?.data ?? []).map((refund) => processorRefundOf(refund, paymentIntentId)),
    refundsListed: Boolean(charge.refunds),
  };
}
