import { and, asc, eq, isNotNull, or, lt, isNull, sql } from 'drizzle-orm';
import { invoices, reconciliationMismatches, type Invoice } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';

const BATCH = 100;

export type ComparisonCounts = { invoicesChecked: number; mismatchesFound: number };

/**
 * Step 4: settled invoices changed since they last matched are compared with the processor's
 * settlement records: captured = the sum of charge lines, refunded = minus the sum of refund lines.
 * A match stamps `reconciled_at` with the `updated_at` it saw (the invoice leaves the partial index
 * until it changes again); a mismatch is recorded on the run and looked at again next run.
 */
export async function compareSettlements(deps: Deps, runId: string): Promise<ComparisonCounts> {
  const counts: ComparisonCounts = { invoicesChecked: 0, mismatchesFound: 0 };
  let last: { invoice: Invoice; version: string } | undefined;
  for (;;) {
    const rows = await deps.db
      // updated_at as text keeps its microseconds: the version stamped below must be exact.
      .select({ invoice: invoices, version: sql<string>`${invoices.updatedAt}::text` })
      .from(invoices)
      .where(
        and(
          isNotNull(invoices.settledAt),
          or(isNull(invoices.reconciledAt), lt(invoices.reconciledAt, invoices.updatedAt)),
          isNotNull(invoices.paymentIntentId),
          last ? sql`(${invoices.updatedAt}, ${invoices.id}) > (${last.version}::timestamptz, ${last.invoice.id})` : undefined,
        ),
      )
      .orderBy(asc(invoices.updatedAt), asc(invoices.id))
      .limit(BATCH);
    if (rows.length === 0) return counts;
    const batch = rows.map((row) => row.invoice);

    const lines = await deps.gateway.listSettlements(batch.map((invoice) => invoice.paymentIntentId!));
    for (const { invoice, version } of rows) {
      const own = lines.filter((line) => line.paymentIntentId === invoice.paymentIntentId);
      const settledCaptured = sum(own.filter((line) => line.type === 'charge'));
      const settledRefunded = -sum(own.filter((line) => line.type === 'refund'));
      const mismatches = [
        { field: 'amount_captured', expected: invoice.amountCaptured, found: settledCaptured },
        { field: 'amount_refunded', expected: invoice.amountRefunded, found: settledRefunded },
      ].filter((check) => check.expected !== check.found);
      counts.invoicesChecked++;
      if (mismatches.length > 0) {
        await deps.db.insert(reconciliationMismatches).values(mismatches.map((mismatch) => ({ runId, invoiceId: invoice.id, ...mismatch })));
        counts.mismatchesFound += mismatches.length;
      } else {
        // Conditional on the updated_at we compared: a change in between keeps the invoice in the queue.
        await deps.db
          .update(invoices)
          .set({ reconciledAt: sql`${invoices.updatedAt}` })
          .where(and(eq(invoices.id, invoice.id), sql`${invoices.updatedAt} = ${version}::timestamptz`));
      }
    }
    if (rows.length < BATCH) return counts;
    last = rows.at(-1);
  }
}

const sum = (lines: { amount: number }[]) => lines.reduce((total, line) => total + line.amount, 0);
