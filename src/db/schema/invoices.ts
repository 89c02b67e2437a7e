import { sql } from 'drizzle-orm';
import { bigint, check, index, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { workspaces } from './workspaces.js';

export const INVOICE_STATUSES = [
  'OPEN',
  'PARTIALLY_CAPTURED',
  'CAPTURED',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
  'VOID',
] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

/**
 * The status is derived from the totals in exactly one place: this generated column.
 * No code path can write totals that disagree with the status.
 */
const statusFromTotals = sql`CASE
  WHEN voided_at IS NOT NULL THEN 'VOID'
  WHEN amount_refunded > 0 AND amount_refunded = amount_captured THEN 'REFUNDED'
  WHEN amount_refunded > 0 THEN 'PARTIALLY_REFUNDED'
  WHEN amount_captured > 0 AND amount_captured = amount_due THEN 'CAPTURED'
  WHEN amount_captured > 0 THEN 'PARTIALLY_CAPTURED'
  ELSE 'OPEN'
END`;

export const invoices = pgTable(
  'invoices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    number: text('number').notNull(),
    /** ISO 4217 code; amounts are integers in its minor unit (see domain/ledger/money.ts). */
    currency: text('currency').notNull(),
    amountDue: bigint('amount_due', { mode: 'number' }).notNull(),
    amountCaptured: bigint('amount_captured', { mode: 'number' }).notNull().default(0),
    amountRefunded: bigint('amount_refunded', { mode: 'number' }).notNull().default(0),
    status: text('status', { enum: INVOICE_STATUSES })
      .notNull()
      .generatedAlwaysAs(statusFromTotals),
    paymentIntentId: text('payment_intent_id'),
    externalProcessorId: text('external_processor_id'),
    capturedAt: timestamp('captured_at', { withTimezone: true }),
    settledAt: timestamp('settled_at', { withTimezone: true }),
    voidedAt: timestamp('voided_at', { withTimezone: true }),
    /** The `updated_at` the last reconciliation found matching the processor's settlement records. */
    reconciledAt: timestamp('reconciled_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    unique('invoices_workspace_number_unique').on(table.workspaceId, table.number),
    check(
      'invoices_totals_ordered',
      sql`0 <= ${table.amountRefunded} AND ${table.amountRefunded} <= ${table.amountCaptured} AND ${table.amountCaptured} <= ${table.amountDue}`,
    ),
    check('invoices_currency_iso', sql`${table.currency} ~ '^[A-Z]{3}$'`),
    check('invoices_void_uncaptured', sql`${table.voidedAt} IS NULL OR ${table.amountCaptured} = 0`),
    // Keyset pagination: newest first, overall and per workspace.
    index('invoices_created_id_idx').on(table.createdAt, table.id),
    index('invoices_workspace_created_id_idx').on(table.workspaceId, table.createdAt, table.id),
    // Webhooks find invoices by payment intent when metadata has no invoice id.
    index('invoices_payment_intent_idx').on(table.paymentIntentId).where(sql`${table.paymentIntentId} IS NOT NULL`),
    // Reconciliation visits only captured invoices still waiting for settlement.
    index('invoices_unsettled_idx').on(table.capturedAt).where(sql`${table.amountCaptured} > 0 AND ${table.settledAt} IS NULL`),
    // …and settled invoices changed since they last matched the processor's statement.
    index('invoices_unreconciled_idx')
      .on(table.updatedAt)
      .where(sql`${table.settledAt} IS NOT NULL AND (${table.reconciledAt} IS NULL OR ${table.reconciledAt} < ${table.updatedAt})`),
  ],
);

export type Invoice = typeof invoices.$inferSelect;
