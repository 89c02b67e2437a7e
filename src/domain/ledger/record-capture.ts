import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { invoiceAdjustments, invoices, type Invoice, type InvoiceAdjustment, type Source } from '../../db/schema/index.js';
import type { JobQueue } from '../jobs/queues.js';
import { adjustmentTimelineEntry } from './adjustment-timeline.js';
import { appendTimelineEvents } from './timeline.js';

export type CaptureFacts = {
  amount: number;
  source: Source;
  /** Null keeps what the invoice has: a webhook may know less than a live capture. */
  paymentIntentId: string | null;
  chargeId: string | null;
  capturedAt: Date;
  settledAt: Date | null;
  paymentAttemptId?: string | null;
  processorEventId?: string | null;
};

/**
 * The one way money is recorded as captured: a ledger line, the invoice totals and processor ids,
 * the timeline, and the capture notification — all in the caller's transaction, which must hold
 * the invoice's row lock. Live captures, webhooks, replays and reconciliation all come through here.
 */
export async function recordCapture(
  tx: Tx,
  jobs: JobQueue,
  invoice: Invoice,
  facts: CaptureFacts,
): Promise<{ invoice: Invoice; adjustment: InvoiceAdjustment }> {
  const [adjustment] = await tx
    .insert(invoiceAdjustments)
    .values({
      invoiceId: invoice.id,
      kind: 'CAPTURE',
      amount: facts.amount,
      currency: invoice.currency,
      source: facts.source,
      paymentAttemptId: facts.paymentAttemptId ?? null,
      processorEventId: facts.processorEventId ?? null,
      processorObjectId: facts.chargeId,
    })
    .returning();
  const [updated] = await tx
    .update(invoices)
    .set({
      amountCaptured: sql`${invoices.amountCaptured} + ${facts.amount}`,
      paymentIntentId: facts.paymentIntentId ?? invoice.paymentIntentId,
      externalProcessorId: facts.chargeId ?? invoice.externalProcessorId,
      capturedAt: facts.capturedAt,
      settledAt: facts.settledAt ?? invoice.settledAt,
      updatedAt: new Date(),
    })
    .where(eq(invoices.id, invoice.id))
    .returning();
  await appendTimelineEvents(tx, [
    adjustmentTimelineEntry(adjustment!, facts.capturedAt, { chargeId: facts.chargeId, paymentIntentId: updated!.paymentIntentId }),
    ...(facts.settledAt ? [settlementEvent(invoice.id, facts.chargeId ?? adjustment!.id, facts.settledAt, facts.source)] : []),
  ]);
  await jobs.enqueue(tx, 'capture-notification', { invoiceId: invoice.id, adjustmentId: adjustment!.id });
  return { invoice: updated!, adjustment: adjustment! };
}

/** One PAYMENT_SETTLED event per processor charge, whoever notices the settlement first. */
export function settlementEvent(invoiceId: string, settledObjectId: string, settledAt: Date, source: Source) {
  return {
    invoiceId,
    type: 'PAYMENT_SETTLED' as const,
    source,
    dedupeKey: `settlement:${invoiceId}:${settledObjectId}`,
    occurredAt: settledAt,
    data: { settledObjectId },
  };
}
