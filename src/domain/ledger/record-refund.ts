import { and, eq, sql } from 'drizzle-orm';
import { invoiceAdjustments, invoices, paymentAttempts, refunds, type Invoice, type InvoiceAdjustment, type PaymentAttempt, type Refund } from '../../db/schema/index.js';
import type { ProcessorRefund } from '../gateway/billing-gateway-client.js';
import { adjustmentTimelineEntry } from './adjustment-timeline.js';
import { markFailed, markSucceeded } from './attempt-status.js';
import { assertCurrency, type MoneyContext } from './money-context.js';
import { recordCapturedTotal } from './record-capture.js';
import { reverseRefund } from './reverse-refund.js';
import { appendTimelineEvents } from './timeline.js';

export type RecordedRefund = { invoice: Invoice; adjustment: InvoiceAdjustment | null; refund: Refund; attempt: PaymentAttempt | null };

/**
 * The one way a processor refund enters the ledger, whoever made it (our API, the processor's
 * dashboard, another system) and whatever told us (the API answer, a webhook, a lookup,
 * reconciliation): once per refund id (its line's movement id), with a refund record for finance;
 * given back once by a reversal line when the processor reports it failed. A refund carrying one of
 * our attempt ids settles that attempt onto it — even one recorded as declined, since the processor
 * says the money moved. A refund means at least that much was captured: a capture the ledger has not
 * heard of yet is recorded as implied (no in-flight arithmetic: only money the processor reported).
 */
export async function recordProcessorRefund(context: MoneyContext, invoice: Invoice, refund: ProcessorRefund): Promise<RecordedRefund> {
  const { tx } = context;
  assertCurrency(invoice, refund.currency);
  const failed = refund.status === 'failed' || refund.status === 'canceled';
  let attempt = await ourAttempt(context, invoice, refund);
  let [known] = await tx.select().from(refunds).where(eq(refunds.processorRefundId, refund.id));
  let current = invoice;
  let adjustment: InvoiceAdjustment | null = null;

  if (!known) {
    const impliedCapture = current.amountRefunded + refund.amount;
    if (impliedCapture > current.amountCaptured) {
      current = (
        await recordCapturedTotal(context, current, {
          paymentIntentId: refund.paymentIntentId,
          chargeId: refund.chargeId,
          capturedTotal: impliedCapture,
          currency: refund.currency,
          capturedAt: null,
        })
      ).invoice;
    }
    const written = await writeRefund(context, current, refund, attempt);
    ({ invoice: current, adjustment, refund: known } = written);
  }
  if (failed) {
    const before = current.amountRefunded;
    current = await reverseRefund(tx, current, known, {
      source: context.source,
      failedAt: refund.createdAt,
      failureReason: refund.failureReason ?? refund.status,
      processorEventId: context.processorEventId ?? null,
    });
    if (current.amountRefunded < before) {
      context.recorded?.push({ kind: 'REFUND_REVERSAL', currency: known.currency, outcome: 'succeeded', amount: known.amount, reason: known.reason });
    }
  }
  if (attempt) {
    attempt = failed
      ? await markFailed(tx, attempt, { code: 'refund_failed', message: `The processor reported refund ${refund.id} ${refund.status}`, source: context.source })
      : await markSucceeded(tx, attempt, refund.id);
  }
  return { invoice: current, adjustment, refund: known, attempt };
}

async function ourAttempt(context: MoneyContext, invoice: Invoice, refund: ProcessorRefund): Promise<PaymentAttempt | null> {
  if (!refund.attemptId || !UUID.test(refund.attemptId)) return null;
  const [attempt] = await context.tx
    .select()
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.id, refund.attemptId), eq(paymentAttempts.invoiceId, invoice.id), eq(paymentAttempts.kind, 'REFUND')))
    .for('update');
  return attempt ?? null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A negative ledger line carrying the reason code, the refund record, the invoice total and the timeline. */
async function writeRefund(context: MoneyContext, invoice: Invoice, refund: ProcessorRefund, attempt: PaymentAttempt | null) {
  const { tx } = context;
  const reason = attempt?.reason ?? refund.reason;
  const note = attempt?.note ?? null;
  const [adjustment] = await tx
    .insert(invoiceAdjustments)
    .values({
      invoiceId: invoice.id,
      kind: 'REFUND',
      amount: -refund.amount,
      currency: invoice.currency,
      reasonCode: reason,
      note,
      source: context.source,
      paymentAttemptId: attempt?.id ?? null,
      processorEventId: context.processorEventId ?? null,
      processorObjectId: refund.id,
      processorMovementId: refund.id,
    })
    .returning();
  const [record] = await tx
    .insert(refunds)
    .values({
      invoiceId: invoice.id,
      adjustmentId: adjustment!.id,
      paymentAttemptId: attempt?.id ?? null,
      amount: refund.amount,
      currency: invoice.currency,
      reason,
      note,
      source: context.source,
      processorRefundId: refund.id,
    })
    .returning();
  const [updated] = await tx
    .update(invoices)
    .set({ amountRefunded: sql`${invoices.amountRefunded} + ${refund.amount}`, updatedAt: new Date() })
    .where(eq(invoices.id, invoice.id))
    .returning();
  await appendTimelineEvents(tx, [adjustmentTimelineEntry(adjustment!, refund.createdAt, { refundId: refund.id })]);
  context.recorded?.push({ kind: 'REFUND', currency: invoice.currency, outcome: 'succeeded', amount: refund.amount, reason });
  return { invoice: updated!, adjustment: adjustment!, refund: record! };
}
