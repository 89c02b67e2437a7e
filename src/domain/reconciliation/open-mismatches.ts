import { desc, eq, inArray, min, ne } from 'drizzle-orm';
import { invoices, reconciliationMismatches, reconciliationRuns, type Invoice } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { requireOperator, type Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { findInvoice } from '../invoices/find-invoices.js';

export type OpenMismatch = {
  invoice: Pick<Invoice, 'id' | 'number' | 'currency' | 'workspaceId'>;
  field: string;
  expected: number;
  found: number | null;
  /** When a run first reported this invoice's field as different: how long it has been open. */
  firstSeenAt: Date;
};

/**
 * The mismatches still open: those the latest finished run reported (a run reports every mismatch
 * until it is resolved), each with the first time any run saw it. Operators only.
 */
export async function openMismatches(deps: Deps, viewer: Viewer): Promise<OpenMismatch[]> {
  requireOperator(viewer, 'read reconciliation mismatches');
  const [latest] = await deps.db
    .select({ id: reconciliationRuns.id })
    .from(reconciliationRuns)
    .where(ne(reconciliationRuns.status, 'RUNNING'))
    .orderBy(desc(reconciliationRuns.startedAt))
    .limit(1);
  if (!latest) return [];
  const rows = await deps.db
    .select({
      field: reconciliationMismatches.field,
      expected: reconciliationMismatches.expected,
      found: reconciliationMismatches.found,
      invoice: { id: invoices.id, number: invoices.number, currency: invoices.currency, workspaceId: invoices.workspaceId },
    })
    .from(reconciliationMismatches)
    .innerJoin(invoices, eq(invoices.id, reconciliationMismatches.invoiceId))
    .where(eq(reconciliationMismatches.runId, latest.id));
  if (rows.length === 0) return [];
  const firstSeen = await deps.db
    .select({ invoiceId: reconciliationMismatches.invoiceId, field: reconciliationMismatches.field, at: min(reconciliationMismatches.createdAt) })
    .from(reconciliationMismatches)
    .where(inArray(reconciliationMismatches.invoiceId, rows.map((row) => row.invoice.id)))
    .groupBy(reconciliationMismatches.invoiceId, reconciliationMismatches.field);
  const key = (invoiceId: string, field: string) => `${invoiceId}:${field}`;
  const since = new Map(firstSeen.map((row) => [key(row.invoiceId, row.field), row.at!]));
  return rows
    .map((row) => ({ ...row, firstSeenAt: since.get(key(row.invoice.id, row.field))! }))
    .sort((a, b) => a.firstSeenAt.getTime() - b.firstSeenAt.getTime());
}

export type RecheckResult = {
  invoiceId: string;
  number: string;
  currency: string;
  checks: { field: 'amount_captured' | 'amount_refunded'; ledger: number; processor: number }[];
  matches: boolean;
};

/**
 * Compares one invoice with the processor's settlement records now, as a run's comparison does, and
 * writes nothing: the next run records the result. Operators only.
 */
export async function recheckInvoice(deps: Deps, viewer: Viewer, invoiceId: string): Promise<RecheckResult> {
  requireOperator(viewer, 're-check an invoice');
  const invoice = await findInvoice(deps.db, viewer, invoiceId);
  if (!invoice) throw new DomainError('NOT_FOUND', `Invoice ${invoiceId} not found`);
  if (!invoice.paymentIntentId) throw new DomainError('BAD_USER_INPUT', 'This invoice has no payment intent to compare', { field: 'invoiceId' });
  const lines = (await deps.gateway.listSettlements([invoice.paymentIntentId])).filter((line) => line.paymentIntentId === invoice.paymentIntentId);
  const total = (type: 'charge' | 'refund') => lines.filter((line) => line.type === type).reduce((sum, line) => sum + line.amount, 0);
  const checks = [
    { field: 'amount_captured' as const, ledger: invoice.amountCaptured, processor: total('charge') },
    { field: 'amount_refunded' as const, ledger: invoice.amountRefunded, processor: -total('refund') },
  ];
  return { invoiceId, number: invoice.number, currency: invoice.currency, checks, matches: checks.every((check) => check.ledger === check.processor) };
}

