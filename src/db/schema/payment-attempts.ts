import { sql } from 'drizzle-orm';
import { bigint, check, index, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { invoices } from './invoices.js';
import { workspaces } from './workspaces.js';

export const ATTEMPT_KINDS = ['CAPTURE', 'REFUND'] as const;
export type AttemptKind = (typeof ATTEMPT_KINDS)[number];
export const ATTEMPT_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED', 'UNKNOWN'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

/** One row per capture or refund request: the reservation, the gateway's answer, and the idempotency record. */
export const paymentAttempts = pgTable(
  'payment_attempts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    /** Idempotency keys are scoped per workspace, as Stripe scopes them per account. */
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    kind: text('kind', { enum: ATTEMPT_KINDS }).notNull(),
    status: text('status', { enum: ATTEMPT_STATUSES }).notNull().default('PENDING'),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    /** Refunds only: one of the documented reason codes. */
    reason: text('reason'),
    note: text('note'),
    idempotencyKey: text('idempotency_key').notNull(),
    /** Hash of the request's meaningful fields: the same key with another request is refused. */
    requestHash: text('request_hash').notNull(),
    /** The processor's id for what this attempt produced (charge or refund id). */
    processorObjectId: text('processor_object_id'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    /** Who asked: the api token id, or null for system work. */
    requestedBy: uuid('requested_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
  },
  (table) => [
    unique('payment_attempts_workspace_key_unique').on(table.workspaceId, table.idempotencyKey),
    check('payment_attempts_amount_positive', sql`${table.amount} > 0`),
    index('payment_attempts_invoice_idx').on(table.invoiceId, table.createdAt),
    // Reconciliation visits only attempts still pending; healthy history costs nothing.
    index('payment_attempts_pending_idx').on(table.createdAt).where(sql`${table.status} IN ('PENDING', 'UNKNOWN')`),
    // The money reserved on one invoice, summed under its row lock by every capture and refund.
    index('payment_attempts_reserved_idx')
      .on(table.invoiceId, table.kind)
      .where(sql`${table.status} IN ('PENDING', 'UNKNOWN')`),
  ],
);

export type PaymentAttempt = typeof paymentAttempts.$inferSelect;
