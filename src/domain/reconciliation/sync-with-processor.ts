import { and, eq, gte, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { invoiceAdjustments, invoices, paymentAttempts, reconciliationMismatches, refunds, type Invoice } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import { processorRefunded, type PaymentState } from '../gateway/billing-gateway-client.js';
import { applyProcessorView, viewOfPayment } from '../ledger/apply-processor-view.js';
import { ProcessorMoneyError } from '../ledger/money-context.js';
import type { PaymentMovement } from '../metrics/metrics.js';

const BATCH = 200;

export type SyncCounts = { invoicesChecked: number; mismatchesFound: number; paymentsRepaired: number };

type Disagreement = { field: string; expected: number; found: number | null; reason: string };

/**
 * Step 4: the processor's side. Every payment touched since the watermark — what the processor lists
 * as moved (its list endpoints by creation time), what the ledger wrote or asked for, and every
 * payment with an open mismatch — is read at the processor and compared. Where the processor holds
 * money the ledger lacks, the ledger is repaired through the same functions a webhook uses (source
 * RECONCILIATION, processor ids kept). What it cannot explain (the ledger holds money the processor
 * does not) is an open mismatch, re-checked by every run until the two agree. Processor calls: the
 * activity list's pages plus one lookup per touched payment — they grow with activity, not size.
 */
export async function syncWithProcessor(deps: Deps, runId: string, since: Date): Promise<SyncCounts> {
  const counts: SyncCounts = { invoicesChecked: 0, mismatchesFound: 0, paymentsRepaired: 0 };
  const touched = new Set([...(await deps.gateway.listActivity(since)), ...(await touchedInLedger(deps, since))]);
  const ids = [...touched];
  for (let start = 0; start < ids.length; start += BATCH) {
    const batch = ids.slice(start, start + BATCH);
    const rows = await deps.db.select({ id: invoices.id, paymentIntentId: invoices.paymentIntentId }).from(invoices).where(inArray(invoices.paymentIntentId, batch));
    // The lookups overlap the processor's latency, RECONCILIATION_LOOKUPS_IN_FLIGHT at a time; the
    // payments are then synced one after another, each in its own transaction on one connection.
    const step = deps.config.reconciliationLookupsInFlight;
    for (let first = 0; first < rows.length; first += step) {
      const group = rows.slice(first, first + step);
      const states = await Promise.all(group.map((row) => deps.gateway.getPayment(row.paymentIntentId!)));
      for (const [index, row] of group.entries()) {
        const outcome = await syncOne(deps, runId, row.id, states[index] ?? null);
        counts.invoicesChecked++;
        counts.mismatchesFound += outcome.mismatches;
        if (outcome.repaired) counts.paymentsRepaired++;
      }
    }
  }
  return counts;
}

/** Payment intents of invoices the ledger touched since the watermark, or with a mismatch still open. */
async function touchedInLedger(deps: Deps, since: Date): Promise<string[]> {
  const byLines = deps.db
    .selectDistinct({ paymentIntentId: invoices.paymentIntentId })
    .from(invoiceAdjustments)
    .innerJoin(invoices, eq(invoices.id, invoiceAdjustments.invoiceId))
    .where(and(gte(invoiceAdjustments.createdAt, since), isNotNull(invoices.paymentIntentId)));
  const byAttempts = deps.db
    .selectDistinct({ paymentIntentId: invoices.paymentIntentId })
    .from(paymentAttempts)
    .innerJoin(invoices, eq(invoices.id, paymentAttempts.invoiceId))
    .where(and(gte(paymentAttempts.createdAt, since), isNotNull(invoices.paymentIntentId)));
  const byMismatches = deps.db
    .selectDistinct({ paymentIntentId: invoices.paymentIntentId })
    .from(reconciliationMismatches)
    .innerJoin(invoices, eq(invoices.id, reconciliationMismatches.invoiceId))
    .where(and(isNull(reconciliationMismatches.resolvedAt), isNotNull(invoices.paymentIntentId)));
  const rows = [...(await byLines), ...(await byAttempts), ...(await byMismatches)];
  return rows.map((row) => row.paymentIntentId!);
}

/** One payment in a transaction of its own: repair, compare, and open or resolve its mismatches. */
async function syncOne(deps: Deps, runId: string, invoiceId: string, state: PaymentState | null): Promise<{ repaired: boolean; mismatches: number }> {
  const recorded: PaymentMovement[] = [];
  const result = await deps.db.transaction(async (tx) => {
    const [locked] = await tx.select().from(invoices).where(eq(invoices.id, invoiceId)).for('update');
    let invoice = locked!;
    const disagreements: Disagreement[] = [];
    if (state) {
      try {
        invoice = await tx.transaction((savepoint) =>
          applyProcessorView({ tx: savepoint, jobs: deps.jobs, source: 'RECONCILIATION', recorded }, invoice, viewOfPayment(state)),
        );
      } catch (error) {
        if (!(error instanceof ProcessorMoneyError)) throw error;
        recorded.length = 0;
        disagreements.push({ field: 'amount_captured', expected: invoice.amountCaptured, found: state.amountCaptured, reason: error.message });
      }
    }
    disagreements.push(...(await compare(tx, invoice, state)));
    const repaired = invoice.amountCaptured !== locked!.amountCaptured || invoice.amountRefunded !== locked!.amountRefunded;
    const opened = await recordMismatches(tx, runId, invoice.id, disagreements);
    if (disagreements.length === 0) await tx.update(invoices).set({ reconciledAt: sql`${invoices.updatedAt}` }).where(eq(invoices.id, invoice.id));
    return { repaired, mismatches: opened };
  });
  for (const movement of recorded) deps.metrics.recordPayment(movement);
  return result;
}

/** What the ledger holds that the processor does not: after the repair, only what cannot be explained. */
async function compare(tx: Tx, invoice: Invoice, state: PaymentState | null): Promise<Disagreement[]> {
  if (!state) {
    if (invoice.amountCaptured === 0) return [];
    return [{ field: 'amount_captured', expected: invoice.amountCaptured, found: null, reason: 'the processor does not know this payment intent' }];
  }
  const out: Disagreement[] = [];
  if (invoice.amountCaptured !== state.amountCaptured) {
    out.push({ field: 'amount_captured', expected: invoice.amountCaptured, found: state.amountCaptured, reason: 'the ledger holds captured money the processor does not' });
  }
  const refunded = processorRefunded(state);
  if (invoice.amountRefunded !== refunded) {
    out.push({ field: 'amount_refunded', expected: invoice.amountRefunded, found: refunded, reason: 'the ledger and the processor disagree on the refunded total' });
  }
  const known = new Set(state.refunds.map((refund) => refund.id));
  const ours = await tx.select({ id: refunds.processorRefundId }).from(refunds).where(and(eq(refunds.invoiceId, invoice.id), isNull(refunds.failedAt)));
  const unknown = ours.filter((refund) => refund.id && !known.has(refund.id));
  if (unknown.length > 0) {
    out.push({ field: 'refund_ids', expected: unknown.length, found: 0, reason: `refunds unknown to the processor: ${unknown.map((refund) => refund.id).join(', ')}` });
  }
  return out;
}

/** Opens a mismatch per field not already open, resolves those that agree now; returns how many disagree. */
async function recordMismatches(tx: Tx, runId: string, invoiceId: string, disagreements: Disagreement[]): Promise<number> {
  const open = await tx.select().from(reconciliationMismatches).where(and(eq(reconciliationMismatches.invoiceId, invoiceId), isNull(reconciliationMismatches.resolvedAt)));
  const fields = new Set(disagreements.map((disagreement) => disagreement.field));
  const settled = open.filter((mismatch) => !fields.has(mismatch.field)).map((mismatch) => mismatch.id);
  if (settled.length > 0) await tx.update(reconciliationMismatches).set({ resolvedAt: new Date() }).where(inArray(reconciliationMismatches.id, settled));
  const already = new Set(open.map((mismatch) => mismatch.field));
  const fresh = disagreements.filter((disagreement) => !already.has(disagreement.field));
  if (fresh.length > 0) await tx.insert(reconciliationMismatches).values(fresh.map((disagreement) => ({ runId, invoiceId, ...disagreement })));
  return disagreements.length;
}
