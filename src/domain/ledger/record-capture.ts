import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { prepared } from '../../db/prepared.js';
import { invoiceAdjustments, invoices, type Invoice, type InvoiceAdjustment, type Source } from '../../db/schema/index.js';
import { adjustmentTimelineEntry } from './adjustment-timeline.js';
import { assertCurrency, ProcessorMoneyError, type MoneyContext } from './money-context.js';
import { appendTimelineEvents } from './timeline.js';

/** What the processor says it has captured for a payment, from any source (API answer, webhook, lookup). */
export type CapturedTotal = {
  paymentIntentId: string;
  chargeId: string | null;
  /** The processor's running total for the payment: captures only ever raise it. */
  capturedTotal: number;
  currency: string;
  /**
   * When the processor captured, or a lower bound of it; null when the total is only implied (by a
   * refund). The invoice keeps the latest time it was told, so every delivery order ends the same.
   */
  capturedAt: Date | null;
  settledAt?: Date | null;
  /** Our attempt whose answer this is, so its line leads back to it… */
  paymentAttemptId?: string | null;
  /** …for no more than it captured: captures below it that answered later get a line of their own. */
  attemptAmount?: number;
};

/**
 * The one way captured money enters the ledger. The ledger's captured total is the highest total the
 * processor has reported: what is missing below it is one ledger line whose movement id names the
 * total it reaches (`<charge>:captured:<total>`, unique per invoice), so no processor movement is
 * counted twice — whichever of the API answer, a webhook, a lookup or reconciliation tells it first,
 * and in any order. Money in flight through our own attempts is not subtracted: the processor's
 * word is the truth, and an attempt that settles later finds its money already recorded.
 */
export async function recordCapturedTotal(
  context: MoneyContext,
  invoice: Invoice,
  total: CapturedTotal,
): Promise<{ invoice: Invoice; adjustment: InvoiceAdjustment | null }> {
  assertCurrency(invoice, total.currency);
  const missing = total.capturedTotal - invoice.amountCaptured;
  if (total.paymentAttemptId && total.attemptAmount !== undefined && missing > total.attemptAmount) {
    // Concurrent captures answered out of order: what lies below ours is theirs, recorded unattributed first.
    const below = await recordCapturedTotal(context, invoice, {
      ...total,
      capturedTotal: total.capturedTotal - total.attemptAmount,
      paymentAttemptId: null,
      attemptAmount: undefined,
      settledAt: null,
    });
    return recordCapturedTotal(context, below.invoice, { ...total, attemptAmount: undefined });
  }
  const capturedAt = latest(invoice.capturedAt, total.capturedAt);
  const identity = {
    paymentIntentId: invoice.paymentIntentId ?? total.paymentIntentId,
    externalProcessorId: total.chargeId ?? invoice.externalProcessorId,
    capturedAt,
    settledAt: invoice.settledAt ?? total.settledAt ?? null,
  };
  if (missing <= 0) {
    const unchanged = (Object.keys(identity) as (keyof typeof identity)[]).every((key) => sameValue(invoice[key], identity[key]));
    if (unchanged) return { invoice, adjustment: null };
    const [updated] = await context.tx.update(invoices).set({ ...identity, updatedAt: new Date() }).where(eq(invoices.id, invoice.id)).returning();
    await appendSettlement(context, updated!, total);
    return { invoice: updated!, adjustment: null };
  }
  if (invoice.voidedAt) throw new ProcessorMoneyError(`processor captured ${total.capturedTotal} on void invoice ${invoice.id}`);
  if (total.capturedTotal > invoice.amountDue) {
    throw new ProcessorMoneyError(
      `processor captured ${total.capturedTotal} ${invoice.currency}, more than invoice ${invoice.id} is due (${invoice.amountDue})`,
    );
  }
  const chargeOrIntent = total.chargeId ?? total.paymentIntentId;
  const line = {
    id: randomUUID(),
    invoiceId: invoice.id,
    amount: missing,
    currency: invoice.currency,
    source: context.source,
    paymentAttemptId: total.paymentAttemptId ?? null,
    processorEventId: context.processorEventId ?? null,
    processorObjectId: chargeOrIntent,
    processorMovementId: `${chargeOrIntent}:captured:${total.capturedTotal}`,
  };
  // The line's id is chosen here, so what follows from the line needs nothing back from Postgres: the
  // line and all that follows are sent together, in this order, in one round trip. Should the line fail
  // (its movement id already recorded, say), the statements after it fail with it and the first error,
  // the line's, is the one thrown. Without a capture time the timeline event's is the line's own
  // (`now()`, the transaction's time, both for the line's default and the event's).
  const entry = adjustmentTimelineEntry({ ...line, kind: 'CAPTURE', reasonCode: null } as InvoiceAdjustment, total.capturedAt ?? undefined, {
    chargeId: total.chargeId,
    paymentIntentId: identity.paymentIntentId,
    capturedTotal: total.capturedTotal,
  });
  const [[adjustment], [updated]] = await Promise.all([
    insertCaptureLine(context.tx, line),
    raiseCaptured(context.tx, { ...identity, id: invoice.id, amountCaptured: total.capturedTotal, updatedAt: new Date() }),
    appendTimelineEvents(context.tx, [entry]),
    appendSettlement(context, invoice, total),
    context.jobs.enqueue(context.tx, 'capture-notification', { invoiceId: invoice.id, adjustmentId: line.id }),
  ]);
  context.recorded?.push({ kind: 'CAPTURE', currency: invoice.currency, outcome: 'succeeded', amount: missing });
  return { invoice: updated!, adjustment: adjustment! };
}

async function appendSettlement(context: MoneyContext, invoice: Invoice, total: CapturedTotal): Promise<void> {
  if (!total.settledAt) return;
  await appendTimelineEvents(context.tx, [settlementEvent(invoice.id, total.chargeId ?? total.paymentIntentId, total.settledAt, context.source)]);
}

const latest = (a: Date | null, b: Date | null): Date | null => (a && b ? (a >= b ? a : b) : (a ?? b));
const sameValue = (a: unknown, b: unknown) => (a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b);

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

const insertCaptureLine = prepared('insert_capture_line', (db) =>
  db
    .insert(invoiceAdjustments)
    .values({
      id: sql.placeholder('id'),
      invoiceId: sql.placeholder('invoiceId'),
      kind: 'CAPTURE',
      amount: sql.placeholder('amount'),
      currency: sql.placeholder('currency'),
      source: sql.placeholder('source'),
      paymentAttemptId: sql.placeholder('paymentAttemptId'),
      processorEventId: sql.placeholder('processorEventId'),
      processorObjectId: sql.placeholder('processorObjectId'),
      processorMovementId: sql.placeholder('processorMovementId'),
    })
    .returning(),
);

const raiseCaptured = prepared('raise_captured', (db) =>
  db
    .update(invoices)
    .set({
      amountCaptured: sql`${sql.placeholder('amountCaptured')}`,
      paymentIntentId: sql`${sql.placeholder('paymentIntentId')}`,
      externalProcessorId: sql`${sql.placeholder('externalProcessorId')}`,
      capturedAt: sql`${sql.placeholder('capturedAt')}`,
      settledAt: sql`${sql.placeholder('settledAt')}`,
      updatedAt: sql`${sql.placeholder('updatedAt')}`,
    })
    .where(eq(invoices.id, sql.placeholder('id')))
    .returning(),
);
