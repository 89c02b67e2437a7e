import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { invoiceAdjustments, invoices, refunds, type Invoice, type Refund, type Source } from '../../db/schema/index.js';
import { adjustmentTimelineEntry } from './adjustment-timeline.js';
import { appendTimelineEvents } from './timeline.js';

export type ReversalFacts = {
  source: Source;
  failedAt: Date;
  /** The processor's word for why (Stripe: `failure_reason`), kept on the ledger line's note. */
  failureReason?: string | null;
  processorEventId?: string | null;
};

/**
 * Gives back a recorded refund that the processor reported failed: a positive REFUND_REVERSAL line, the
 * refund record marked failed, the invoice's refunded total lowered, and a REFUND_REVERSED timeline
 * event — in the caller's transaction, which holds the invoice's row lock. Once per refund: a refund
 * already marked failed is returned as it is.
 */
export async function reverseRefund(tx: Tx, invoice: Invoice, refund: Refund, facts: ReversalFacts): Promise<Invoice> {
  const [failed] = await tx
    .update(refunds)
    .set({ failedAt: facts.failedAt })
    .where(and(eq(refunds.id, refund.id), isNull(refunds.failedAt)))
    .returning({ id: refunds.id });
  if (!failed) return invoice;
  const [adjustment] = await tx
    .insert(invoiceAdjustments)
    .values({
      invoiceId: invoice.id,
      kind: 'REFUND_REVERSAL',
      amount: refund.amount,
      currency: refund.currency,
      reasonCode: refund.reason,
      note: facts.failureReason ? `processor: ${facts.failureReason}` : null,
      source: facts.source,
      processorEventId: facts.processorEventId ?? null,
      processorObjectId: refund.processorRefundId,
      processorMovementId: `${refund.processorRefundId}:failed`,
    })
    .returning();
  const [updated] = await tx
    .update(invoices)
    .set({ amountRefunded: sql`${invoices.amountRefunded} - ${refund.amount}`, updatedAt: new Date() })
    .where(eq(invoices.id, invoice.id))
    .returning();
  await appendTimelineEvents(tx, [adjustmentTimelineEntry(adjustment!, facts.failedAt, { refundId: refund.processorRefundId })]);
  return updated!;
}
