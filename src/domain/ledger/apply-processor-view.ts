import { and, eq, inArray, ne } from 'drizzle-orm';
import { paymentAttempts, type Invoice } from '../../db/schema/index.js';
import type { PaymentState, ProcessorRefund } from '../gateway/billing-gateway-client.js';
import { markSucceeded } from './attempt-status.js';
import type { MoneyContext } from './money-context.js';
import { recordCapturedTotal } from './record-capture.js';
import { recordProcessorRefund } from './record-refund.js';

/**
 * What one look at the processor showed about a payment: a webhook's object, a lookup, a
 * reconciliation read. Parts it does not show are null and left alone.
 */
export type ProcessorView = {
  paymentIntentId: string;
  chargeId: string | null;
  currency: string;
  /** The payment's captured running total; null when this view does not show it. */
  capturedTotal: number | null;
  capturedAt: Date | null;
  settledAt?: Date | null;
  /** Our capture attempts that the processor shows as done (Stripe: the capture metadata on the intent). */
  captureAttemptIds: readonly string[];
  /** Refunds shown by this view (not necessarily all of the payment's). */
  refunds: readonly ProcessorRefund[];
};

/**
 * Brings the ledger up to what the processor showed, through the same functions as a live answer:
 * the captured total, each refund once, and our attempts settled onto the money they moved. Applying
 * the same view twice, or views in any order, ends in the same state.
 */
export async function applyProcessorView(context: MoneyContext, invoice: Invoice, view: ProcessorView): Promise<Invoice> {
  let current = invoice;
  if (view.capturedTotal !== null) {
    current = (
      await recordCapturedTotal(context, current, {
        paymentIntentId: view.paymentIntentId,
        chargeId: view.chargeId,
        capturedTotal: view.capturedTotal,
        currency: view.currency,
        capturedAt: view.capturedAt,
        settledAt: view.settledAt ?? null,
      })
    ).invoice;
  }
  await settleCapturesShown(context, current, view);
  const ordered = [...view.refunds].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  for (const refund of ordered) current = (await recordProcessorRefund(context, current, refund)).invoice;
  return current;
}

/**
 * Our capture attempts the processor lists as done: their money is in the total just recorded. One
 * recorded as declined is corrected too: the processor's word on what moved wins.
 */
async function settleCapturesShown(context: MoneyContext, invoice: Invoice, view: ProcessorView): Promise<void> {
  const ids = view.captureAttemptIds.filter((id) => UUID.test(id));
  if (ids.length === 0 || view.capturedTotal === null) return;
  const attempts = await context.tx
    .select()
    .from(paymentAttempts)
    .where(
      and(
        eq(paymentAttempts.invoiceId, invoice.id),
        eq(paymentAttempts.kind, 'CAPTURE'),
        inArray(paymentAttempts.id, ids),
        ne(paymentAttempts.status, 'SUCCEEDED'),
      ),
    )
    .for('update');
  for (const attempt of attempts) await markSucceeded(context.tx, attempt, view.chargeId ?? view.paymentIntentId);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Everything a lookup of the payment shows. */
export function viewOfPayment(state: PaymentState): ProcessorView {
  return {
    paymentIntentId: state.paymentIntentId,
    chargeId: state.chargeId,
    currency: state.currency,
    capturedTotal: state.amountCaptured,
    capturedAt: state.capturedAt,
    settledAt: state.settledAt,
    captureAttemptIds: state.captureAttemptIds,
    refunds: state.refunds,
  };
}
