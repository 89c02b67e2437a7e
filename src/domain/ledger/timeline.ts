import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { prepared } from '../../db/prepared.js';
import { invoiceTimelineEvents, type Source } from '../../db/schema/index.js';

export const TIMELINE_EVENT_TYPES = [
  'INVOICE_CREATED',
  'CAPTURE_REQUESTED',
  'CAPTURE_SUCCEEDED',
  'CAPTURE_FAILED',
  'REFUND_REQUESTED',
  'REFUND_SUCCEEDED',
  'REFUND_FAILED',
  'REFUND_REVERSED',
  'PAYMENT_SETTLED',
  'PAYMENT_FAILED',
  'PAYMENT_CANCELED',
  'DISPUTE_CREATED',
] as const;
export type TimelineEventType = (typeof TIMELINE_EVENT_TYPES)[number];

export type TimelineEntry = {
  invoiceId: string;
  type: TimelineEventType;
  source: Source;
  /** One event per fact: a second write with the same key is a no-op, so backfills can rerun. */
  dedupeKey: string;
  occurredAt?: Date;
  data?: Record<string, unknown>;
  adjustmentId?: string | null;
  paymentAttemptId?: string | null;
  processorEventId?: string | null;
};

/** Appends timeline events; returns how many were new. */
export async function appendTimelineEvents(db: DbOrTx, entries: TimelineEntry[]): Promise<number> {
  if (entries.length === 0) return 0;
  if (entries.length === 1) {
    const [entry] = entries as [TimelineEntry];
    const values = {
      invoiceId: entry.invoiceId,
      type: entry.type,
      source: entry.source,
      dedupeKey: entry.dedupeKey,
      occurredAt: entry.occurredAt ?? null,
      data: entry.data ?? {},
      adjustmentId: entry.adjustmentId ?? null,
      paymentAttemptId: entry.paymentAttemptId ?? null,
      processorEventId: entry.processorEventId ?? null,
    };
    return (await appendOne(db, values)).length;
  }
  const inserted = await db
    .insert(invoiceTimelineEvents)
    .values(
      entries.map((entry) => ({
        invoiceId: entry.invoiceId,
        type: entry.type,
        source: entry.source,
        dedupeKey: entry.dedupeKey,
        occurredAt: entry.occurredAt,
        data: entry.data ?? {},
        adjustmentId: entry.adjustmentId ?? null,
        paymentAttemptId: entry.paymentAttemptId ?? null,
        processorEventId: entry.processorEventId ?? null,
      })),
    )
    .onConflictDoNothing({ target: invoiceTimelineEvents.dedupeKey })
    .returning({ id: invoiceTimelineEvents.id });
  return inserted.length;
}

/** The usual case, one event, built once; without a time of its own it happened now (the column's default). */
const appendOne = prepared('append_timeline_event', (db) =>
  db
    .insert(invoiceTimelineEvents)
    .values({
      invoiceId: sql.placeholder('invoiceId'),
      type: sql.placeholder('type'),
      source: sql.placeholder('source'),
      dedupeKey: sql.placeholder('dedupeKey'),
      occurredAt: sql`coalesce(${sql.placeholder('occurredAt')}::timestamptz, now())`,
      data: sql.placeholder('data'),
      adjustmentId: sql.placeholder('adjustmentId'),
      paymentAttemptId: sql.placeholder('paymentAttemptId'),
      processorEventId: sql.placeholder('processorEventId'),
    })
    .onConflictDoNothing({ target: invoiceTimelineEvents.dedupeKey })
    .returning({ id: invoiceTimelineEvents.id }),
);
