import { asc, eq, isNull } from 'drizzle-orm';
import { invoices, reconciliationMismatches, type Invoice } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { requireOperator, type Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { processorRefunded } from '../gateway/billing-gateway-client.js';
import { findInvoice } from '../invoices/find-invoices.js';

export type OpenMismatch = {
  invoice: Pick<Invoice, 'id' | 'number' | 'currency' | 'workspaceId'>;
  field: string;
  expected: number;
  found: number | null;
  reason: string | null;
  /** When a run first reported this invoice's field as different: how long it has been open. */
  firstSeenAt: Date;
};

/** The mismatches still open (every run re-checks them until the two sides agree), oldest first. Operators only. */
export async function openMismatches(deps: Deps, viewer: Viewer): Promise<OpenMismatch[]> {
  requireOperator(viewer, 'read reconciliation mismatches');
  return deps.db
    .select({
      field: reconciliationMismatches.field,
      expected: reconciliationMismatches.expected,
      found: reconciliationMismatches.found,
      reason: reconciliationMismatches.reason,
      firstSeenAt: reconciliationMismatches.createdAt,
      invoice: { id: invoices.id, number: invoices.number, currency: invoices.currency, workspaceId: invoices.workspaceId },
    })
    .from(reconciliationMismatches)
    .innerJoin(invoices, eq(invoices.id, reconciliationMismatches.invoiceId))
    .where(isNull(reconciliationMismatches.resolvedAt))
    .orderBy(asc(reconciliationMismatches.createdAt));
}

export type RecheckResult = {
  invoiceId: string;
  number: string;
  currency: string;
  checks: { field: 'amount_captured' | 'amount_refunded'; ledger: number; processor: number }[];
  matches: boolean;
};

/**
 * Compares one invoice with what the processor holds now (its captured total and the refunds that moved
 * money), as a run's comparison does, and writes nothing: the next run repairs or records it. Operators only.
 */
export async function recheckInvoice(deps: Deps, viewer: Viewer, invoiceId: string): Promise<RecheckResult> {
  requireOperator(viewer, 're-check an invoice');
  const invoice = await findInvoice(deps.db, viewer, invoiceId);
  if (!invoice) throw new DomainError('NOT_FOUND', `Invoice ${invoiceId} not found`);
  if (!invoice.paymentIntentId) throw new DomainError('BAD_USER_INPUT', 'This invoice has no payment intent to compare', { field: 'invoiceId' });
  const payment = await deps.gateway.getPayment(invoice.paymentIntentId);
  const checks = [
    { field: 'amount_captured' as const, ledger: invoice.amountCaptured, processor: payment?.amountCaptured ?? 0 },
    { field: 'amount_refunded' as const, ledger: invoice.amountRefunded, processor: payment ? processorRefunded(payment) : 0 },
  ];
  return { invoiceId, number: invoice.number, currency: invoice.currency, checks, matches: checks.every((check) => check.ledger === check.processor) };
}

