import type { ProcessorEvent } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import { applyProcessorView, viewOfPayment, type ProcessorView } from '../ledger/apply-processor-view.js';
import type { MoneyContext } from '../ledger/money-context.js';
import { appendTimelineEvents, type TimelineEventType } from '../ledger/timeline.js';
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
import { chargeView, ledgerAmount, paymentIntentView, processorRefundOf } from './stripe-views.js';

/** The ledger's context plus the gateway, to fetch what today's event shapes leave out. */
export type ApplyContext = MoneyContext & { processorEventId: string; gateway: Deps['gateway'] };

export type ApplyOutcome = { outcome: 'PROCESSED' | 'IGNORED'; invoiceId: string | null };

type Handler = (context: ApplyContext, object: unknown, event: ProcessorEvent) => Promise<string>;

/** Events whose time is when the processor captured. */
const CAPTURE_EVENTS = new Set(['payment_intent.succeeded', 'payment_intent.amount_capturable_updated', 'charge.captured']);

/** What each Stripe event type does; any type not listed is stored and acknowledged as IGNORED. */
const HANDLERS: Record<string, Handler> = {
  'payment_intent.succeeded': paymentIntentChanged,
  'payment_intent.amount_capturable_updated': paymentIntentChanged,
  'payment_intent.payment_failed': (context, object, event) => paymentIntentNote(context, object, event, 'PAYMENT_FAILED'),
  'payment_intent.canceled': (context, object, event) => paymentIntentNote(context, object, event, 'PAYMENT_CANCELED'),
  'charge.captured': chargeChanged,
  'charge.succeeded': chargeChanged,
  'charge.updated': chargeChanged,
  'charge.refunded': chargeChanged,
  'charge.refund.updated': refundChanged,
  'refund.created': refundChanged,
  'refund.updated': refundChanged,
  'refund.failed': refundChanged,
  'charge.dispute.created': disputeCreated,
};

export const HANDLED_STRIPE_EVENT_TYPES = Object.keys(HANDLERS);

/**
 * Applies one stored Stripe event to its invoice, in the caller's transaction, with the same domain
 * functions as the live mutations: every event is a view of the processor's objects (cumulative
 * totals, refund ids), so any order of the same events, with duplicates, ends in the same state.
 * Throws ProcessorEventError when it cannot be applied as it stands.
 */
export async function applyStripeEvent(context: ApplyContext, event: ProcessorEvent): Promise<ApplyOutcome> {
  const handler = HANDLERS[event.eventType];
  if (!handler) return { outcome: 'IGNORED', invoiceId: null };
  const object = (event.payload as { data?: { object?: unknown } }).data?.object;
  if (!object || typeof object !== 'object') throw new ProcessorEventError('malformed event: data.object is missing');
  const invoiceId = await handler(context, object, event);
  return { outcome: 'PROCESSED', invoiceId };
}

const eventTime = (event: ProcessorEvent): Date | null => {
  const created = (event.payload as { created?: unknown }).created;
  return CAPTURE_EVENTS.has(event.eventType) && typeof created === 'number' ? fromUnixSeconds(created) : null;
};

async function paymentIntentChanged(context: ApplyContext, object: unknown, event: ProcessorEvent): Promise<string> {
  const intent = parseStripeObject(stripePaymentIntent, object, 'payment_intent');
  const invoice = await findAndLockInvoice(context.tx, { metadata: intent.metadata, paymentIntentId: intent.id });
  await applyProcessorView(context, invoice, paymentIntentView(intent, eventTime(event)));
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

/**
 * A charge carries its captured total; since API version 2022-11-15 no refunds list, only
 * `amount_refunded`. When that differs from the ledger's, the refunds are fetched from the processor:
 * an event is never `processed` having recorded nothing of what it reports.
 */
async function chargeChanged(context: ApplyContext, object: unknown, event: ProcessorEvent): Promise<string> {
  const charge = parseStripeObject(stripeCharge, object, 'charge');
  const invoice = await findAndLockInvoice(context.tx, { metadata: charge.metadata, paymentIntentId: charge.payment_intent, chargeId: charge.id });
  const paymentIntentId = charge.payment_intent ?? invoice.paymentIntentId;
  if (!paymentIntentId) throw new ProcessorEventError(`charge ${charge.id} has no payment intent and invoice ${invoice.id} none either`);
  const { refundsListed, ...view } = chargeView(charge, paymentIntentId, eventTime(event));
  const current = await applyProcessorView(context, invoice, view);
  // A charge reporting another refunded total than the ledger's: fetch the refunds. More is a refund
  // the ledger has not seen; less is a refund that failed (endpoints subscribed to charges alone get no
  // `refund.failed`) or an older snapshot, which the fetch tells apart.
  if (!refundsListed && ledgerAmount(charge, charge.amount_refunded) !== current.amountRefunded) await applyFetchedPayment(context, current.id, paymentIntentId);
  return invoice.id;
}

async function applyFetchedPayment(context: ApplyContext, invoiceId: string, paymentIntentId: string): Promise<void> {
  const state = await context.gateway.getPayment(paymentIntentId);
  if (!state) throw new ProcessorEventError(`the processor does not know payment intent ${paymentIntentId}`);
  const invoice = await findAndLockInvoice(context.tx, { metadata: { invoice_id: invoiceId } });
  await applyProcessorView(context, invoice, viewOfPayment(state));
}

async function refundChanged(context: ApplyContext, object: unknown): Promise<string> {
  const refund = parseStripeObject(stripeRefund, object, 'refund');
  const invoice = await findAndLockInvoice(context.tx, { metadata: refund.metadata, paymentIntentId: refund.payment_intent, chargeId: refund.charge });
  const view: ProcessorView = {
    paymentIntentId: refund.payment_intent ?? invoice.paymentIntentId ?? '',
    chargeId: refund.charge,
    currency: currencyOf(refund),
    capturedTotal: null,
    capturedAt: null,
    captureAttemptIds: [],
    refunds: [processorRefundOf(refund, invoice.paymentIntentId)],
  };
  await applyProcessorView(context, invoice, view);
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
