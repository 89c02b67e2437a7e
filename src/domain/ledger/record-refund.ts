import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { invoiceAdjustments, invoices, refunds, type Invoice, type InvoiceAdjustment, type Refund, type Source } from '../../db/schema/index.js';
import { adjustmentTimelineEntry } from './adjustment-timeline.js';
import { appendTimelineEvents } from './timeline.js';

export type RefundFacts = {
  amount: number;
  reason: string;
  note?: string | null;
  source: Source;
  processorRefundId: string;
  refundedAt: Date;
  paymentAttemptId?: string | null;
  processorEventId?: string | null;
};

/**
 * The one way money is recorded as refunded: a negative ledger line carrying the reason code, a refund
 * record for finance, the invoice total and the timeline, in the caller's transaction (which holds the
 * invoice's row lock).
 */
export async function recordRefund(
  tx: Tx,
  invoice: Invoice,
  facts: RefundFacts,
): Promise<{ invoice: Invoice; adjustment: InvoiceAdjustment; refund: Refund }> {
  const [adjustment] = await tx
    .insert(invoiceAdjustments)
    .values({
      invoiceId: invoice.id,
      kind: 'REFUND',
      amount: -facts.amount,
      currency: invoice.currency,
      reasonCode: facts.reason,
      note: facts.note ?? null,
      source: facts.source,
      paymentAttemptId: facts.paymentAttemptId ?? null,
      processorEventId: facts.processorEventId ?? null,
      processorObjectId: facts.processorRefundId,
    })
    .returning();
  const [refund] = await tx
    .insert(refunds)
    .values({
      invoiceId: invoice.id,
      adjustmentId: adjustment!.id,
      paymentAttemptId: facts.paymentAttemptId ?? null,
      amount: facts.amount,
      currency: invoice.currency,
      reason: facts.reason,
      note: facts.note ?? null,
      source: facts.source,
      processorRefundId: facts.processorRefundId,
    })
    .returning();
  const [updated] = await tx
    .update(invoices)
    .set({ amountRefunded: sql`${invoices.amountRefunded} + ${facts.amount}`, updatedAt: new Date() })
    .where(eq(invoices.id, invoice.id))
    .returning();
  await appendTimelineEvents(tx, [adjustmentTimelineEntry(adjustment!, facts.refundedAt, { refundId: facts.processorRefundId })]);
  return { invoice: updated!, adjustment: adjustment!, refund: refund! };
}
