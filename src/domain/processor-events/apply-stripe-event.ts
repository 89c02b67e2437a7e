import type { ProcessorEvent } from '../../db/schema/index.js';
import { appendTimelineEvents, type TimelineEventType } from '../ledger/timeline.js';
import { applyCaptureTotal, applyRefundObject, type ApplyContext } from './apply-payment-objects.js';
import { findAndLockInvoice } from './find-invoice.js';
import { ProcessorEventError } from './processor-event-error.js';
import {
  currencyOf,
  fromUnixSeconds,
  parseStripeObject,
  stripeCharge,
  stripeDispute,
  stripePaymentIntent,
  stripeRefund,
} from './stripe-objects.js';

export type ApplyOutcome = { outcome: 'PROCESSED' | 'IGNORED'; invoiceId: string | null };

type Handler = (context: ApplyContext, object: unknown, event: ProcessorEvent) => Promise<string>;

/** What each Stripe event type does; any type not listed is stored and acknowledged as IGNORED. */
const HANDLERS: Record<string, Handler> = {
  'payment_intent.succeeded': paymentIntentCaptured,
  'payment_intent.payment_failed': (context, object, event) => paymentIntentNote(context, object, event, 'PAYMENT_FAILED'),
  'payment_intent.canceled': (context, object, event) => paymentIntentNote(context, object, event, 'PAYMENT_CANCELED'),
  'charge.captured': chargeTotals,
  'charge.succeeded': chargeTotals,
  'charge.refunded': chargeTotals,
  'charge.refund.updated': refundChanged,
  'refund.created': refundChanged,
  'refund.updated': refundChanged,
  'refund.failed': refundChanged,
  'charge.dispute.created': disputeCreated,
};

export const HANDLED_STRIPE_EVENT_TYPES = Object.keys(HANDLERS);

/**
 * Applies one stored Stripe event to its invoice, in the caller's transaction, with the same domain
 * functions as the live mutations. Throws ProcessorEventError when it cannot be applied as it stands.
 */
export async function applyStripeEvent(context: ApplyContext, event: ProcessorEvent): Promise<ApplyOutcome> {
  const handler = HANDLERS[event.eventType];
  if (!handler) return { outcome: 'IGNORED', invoiceId: null };
  const object = (event.payload as { data?: { object?: unknown } }).data?.object;
  if (!object || typeof object !== 'object') throw new ProcessorEventError('malformed event: data.object is missing');
  const invoiceId = await handler(context, object, event);
  return { outcome: 'PROCESSED', invoiceId };
}

async function paymentIntentCaptured(context: ApplyContext, object: unknown): Promise<string> {
  const intent = parseStripeObject(stripePaymentIntent, object, 'payment_intent');
  const invoice = await findAndLockInvoice(context.tx, { metadata: intent.metadata, paymentIntentId: intent.id });
  await applyCaptureTotal(context, invoice, {
    capturedTotal: intent.amount_received,
    currency: currencyOf(intent),
    paymentIntentId: intent.id,
    chargeId: intent.latest_charge,
    occurredAt: fromUnixSeconds(intent.created),
  });
  return invoice.id;
}

async function paymentIntentNote(context: ApplyContext, object: unknown, event: ProcessorEvent, type: TimelineEventType): Promise<string> {
  const intent = parseStripeObject(stripePaymentIntent, object, 'payment_intent');
  const invoice = await findAndLockInvoice(context.tx, { metadata: intent.metadata, paymentIntentId: intent.id });
  await appendTimelineEvents(context.tx, [
    {
      invoiceId: invoice.id,
      type,
      source: context.source,
      dedupeKey: `processor-event:${event.id}`,
      occurredAt: fromUnixSeconds(intent.created),
      data: {
        paymentIntentId: intent.id,
        code: intent.last_payment_error?.code ?? null,
        message: intent.last_payment_error?.message ?? null,
        cancellationReason: intent.cancellation_reason ?? null,
      },
      processorEventId: event.id,
    },
  ]);
  return invoice.id;
}

/** A charge carries its cumulative captured amount and (when expanded) its refunds: apply both. */
async function chargeTotals(context: ApplyContext, object: unknown): Promise<string> {
  const charge = parseStripeObject(stripeCharge, object, 'charge');
  let invoice = await findAndLockInvoice(context.tx, { metadata: charge.metadata, paymentIntentId: charge.payment_intent, chargeId: charge.id });
  if (charge.captured) {
    invoice = await applyCaptureTotal(context, invoice, {
      capturedTotal: charge.amount_captured,
      currency: currencyOf(charge),
      paymentIntentId: charge.payment_intent,
      chargeId: charge.id,
      occurredAt: fromUnixSeconds(charge.created),
    });
  }
  const listed = [...(charge.refunds?.data ?? [])].sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
  for (const refund of listed) invoice = await applyRefundObject(context, invoice, refund);
  return invoice.id;
}

async function refundChanged(context: ApplyContext, object: unknown): Promise<string> {
  const refund = parseStripeObject(stripeRefund, object, 'refund');
  const invoice = await findAndLockInvoice(context.tx, { metadata: refund.metadata, paymentIntentId: refund.payment_intent, chargeId: refund.charge });
  await applyRefundObject(context, invoice, refund);
  return invoice.id;
}

async function disputeCreated(context: ApplyContext, object: unknown, event: ProcessorEvent): Promise<string> {
  const dispute = parseStripeObject(stripeDispute, object, 'dispute');
  const invoice = await findAndLockInvoice(context.tx, { metadata: dispute.metadata, paymentIntentId: dispute.payment_intent, chargeId: dispute.charge });
  await appendTimelineEvents(context.tx, [
    {
      invoiceId: invoice.id,
      type: 'DISPUTE_CREATED',
      source: context.source,
      dedupeKey: `dispute:${dispute.id}:created`,
      occurredAt: fromUnixSeconds(dispute.created),
      data: { disputeId: dispute.id, amount: dispute.amount, currency: currencyOf(dispute), reason: dispute.reason ?? null, status: dispute.status ?? null },
      processorEventId: event.id,
    },
  ]);
  return invoice.id;
}
