import { sql } from 'drizzle-orm';
import { bigint, check, index, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { invoices } from './invoices.js';
import { paymentAttempts } from './payment-attempts.js';
import { processorEvents } from './processor-events.js';

/** REFUND_REVERSAL gives back a recorded refund that the processor later reported failed. */
export const ADJUSTMENT_KINDS = ['CAPTURE', 'REFUND', 'REFUND_REVERSAL'] as const;
export type AdjustmentKind = (typeof ADJUSTMENT_KINDS)[number];
export const SOURCES = ['API', 'WEBHOOK', 'REPLAY', 'RECONCILIATION', 'SYSTEM'] as const;
export type Source = (typeof SOURCES)[number];

/**
 * The ledger lines. Append-only (a trigger refuses UPDATE and DELETE): an invoice's captured total is
 * the sum of its CAPTURE lines, its refunded total minus the sum of its REFUND and REFUND_REVERSAL lines.
 */
export const invoiceAdjustments = pgTable(
  'invoice_adjustments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    kind: text('kind', { enum: ADJUSTMENT_KINDS }).notNull(),
    /** Signed minor units: positive for captures and refund reversals, negative for refunds. */
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    reasonCode: text('reason_code'),
    note: text('note'),
    source: text('source', { enum: SOURCES }).notNull(),
    paymentAttemptId: uuid('payment_attempt_id').references(() => paymentAttempts.id),
    processorEventId: uuid('processor_event_id').references(() => processorEvents.id),
    /** The processor object this line accounts for (charge or refund id), when known. */
    processorObjectId: text('processor_object_id'),
    /**
     * The processor movement this line mirrors, unique per invoice, so no movement is counted twice by
     * construction: `<charge>:captured:<running total>` for the capture that brought the payment's
     * captured total there, `<refund id>` for a refund, `<refund id>:failed` for its reversal.
     */
    processorMovementId: text('processor_movement_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check(
      'invoice_adjustments_sign',
      sql`(${table.kind} IN ('CAPTURE', 'REFUND_REVERSAL') AND ${table.amount} > 0) OR (${table.kind} = 'REFUND' AND ${table.amount} < 0)`,
    ),
    index('invoice_adjustments_invoice_idx').on(table.invoiceId, table.createdAt),
    // Reconciliation checks only the lines written since its last successful run.
    index('invoice_adjustments_created_idx').on(table.createdAt),
    // One ledger line per payment attempt: a retried finish step cannot write twice.
    unique('invoice_adjustments_attempt_unique').on(table.paymentAttemptId),
    unique('invoice_adjustments_movement_unique').on(table.invoiceId, table.processorMovementId),
  ],
);

/** A refund record per refund, for analytics and finance. */
export const refunds = pgTable(
  'refunds',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    adjustmentId: uuid('adjustment_id')
      .notNull()
      .references(() => invoiceAdjustments.id),
    paymentAttemptId: uuid('payment_attempt_id').references(() => paymentAttempts.id),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    reason: text('reason').notNull(),
    note: text('note'),
    source: text('source', { enum: SOURCES }).notNull(),
    processorRefundId: text('processor_refund_id').unique(),
    /** Set when the processor reported the refund failed after it was recorded; a REFUND_REVERSAL line gives it back. */
    failedAt: timestamp('failed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check('refunds_amount_positive', sql`${table.amount} > 0`),
    index('refunds_invoice_idx').on(table.invoiceId, table.createdAt),
  ],
);

/** What happened to an invoice, when, and from which source. Append-only. */
export const invoiceTimelineEvents = pgTable(
  'invoice_timeline_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    type: text('type').notNull(),
    source: text('source', { enum: SOURCES }).notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    adjustmentId: uuid('adjustment_id').references(() => invoiceAdjustments.id),
    paymentAttemptId: uuid('payment_attempt_id').references(() => paymentAttempts.id),
    processorEventId: uuid('processor_event_id').references(() => processorEvents.id),
    /** Makes writers and backfills idempotent: one event per fact, e.g. `adjustment:<id>`. */
    dedupeKey: text('dedupe_key').notNull(),
  },
  (table) => [
    unique('invoice_timeline_events_dedupe_unique').on(table.dedupeKey),
    index('invoice_timeline_events_invoice_idx').on(table.invoiceId, table.occurredAt),
  ],
);

export type InvoiceAdjustment = typeof invoiceAdjustments.$inferSelect;
export type Refund = typeof refunds.$inferSelect;
export type InvoiceTimelineEvent = typeof invoiceTimelineEvents.$inferSelect;
