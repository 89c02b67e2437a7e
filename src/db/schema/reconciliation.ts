import { bigint, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
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
    error: text('error'),
  },
  (table) => [index('reconciliation_runs_started_idx').on(table.startedAt)],
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
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('reconciliation_mismatches_run_idx').on(table.runId)],
);

export type ReconciliationRun = typeof reconciliationRuns.$inferSelect;
export type ReconciliationMismatch = typeof reconciliationMismatches.$inferSelect;
