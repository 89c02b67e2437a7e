import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { invoices } from './invoices.js';

export const RECONCILIATION_TRIGGERS = ['SCHEDULE', 'OPERATOR', 'COMMAND'] as const;
export const RECONCILIATION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED'] as const;

/** Each reconciliation run with what it fixed and what it found. */
export const reconciliationRuns = pgTable(
  'reconciliation_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    trigger: text('trigger', { enum: RECONCILIATION_TRIGGERS }).notNull(),
    status: text('status', { enum: RECONCILIATION_STATUSES }).notNull().default('RUNNING'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    attemptsSettled: integer('attempts_settled').notNull().default(0),
    timelineEventsBackfilled: integer('timeline_events_backfilled').notNull().default(0),
    settlementsBackfilled: integer('settlements_backfilled').notNull().default(0),
    invoicesChecked: integer('invoices_checked').notNull().default(0),
    mismatchesFound: integer('mismatches_found').notNull().default(0),
    /** Payments whose ledger lacked money the processor holds, repaired from the processor's side. */
    paymentsRepaired: integer('payments_repaired').notNull().default(0),
    /** Processor calls the run made (lookups and list pages): they grow with activity, not with size. */
    processorCalls: integer('processor_calls').notNull().default(0),
    error: text('error'),
  },
  (table) => [
    index('reconciliation_runs_started_idx').on(table.startedAt),
    // One run at a time across every process: the RUNNING row is the lock, and no connection is held for it.
    uniqueIndex('reconciliation_runs_one_running').on(table.status).where(sql`${table.status} = 'RUNNING'`),
  ],
);

/** A disagreement between the ledger and the processor's settlement records, found by a run. */
export const reconciliationMismatches = pgTable(
  'reconciliation_mismatches',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: uuid('run_id')
      .notNull()
      .references(() => reconciliationRuns.id),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    field: text('field').notNull(),
    expected: bigint('expected', { mode: 'number' }).notNull(),
    found: bigint('found', { mode: 'number' }),
    /** Why the ledger and the processor disagree, in words an operator can act on. */
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Set by the run that found the two sides agreeing again; open mismatches are re-checked by every run. */
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (table) => [
    index('reconciliation_mismatches_run_idx').on(table.runId),
    index('reconciliation_mismatches_open_idx').on(table.invoiceId).where(sql`${table.resolvedAt} IS NULL`),
  ],
);

export type ReconciliationRun = typeof reconciliationRuns.$inferSelect;
export type ReconciliationMismatch = typeof reconciliationMismatches.$inferSelect;
