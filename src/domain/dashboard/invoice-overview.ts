import type {
  Invoice,
  InvoiceAdjustment,
  InvoiceTimelineEvent,
  PaymentAttempt,
  ProcessorEvent,
  Refund,
  Workspace,
} from '../../db/schema/index.js';
import type { Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { processorRefunded } from '../gateway/billing-gateway-client.js';
import { findInvoice } from '../invoices/find-invoices.js';
import {
  adjustmentsFor,
  paymentAttemptsFor,
  processorEventsFor,
  refundsFor,
  timelinesFor,
  workspacesByIds,
} from '../invoices/invoice-history.js';

/** What the processor says about the payment, or why we could not ask. */
export type ProcessorView =
  | { kind: 'known'; net: number; captured: number; refunded: number; status: string }
  | { kind: 'unknown' }
  | { kind: 'no-payment-intent' }
  | { kind: 'unavailable'; message: string };

export type InvoiceOverview = {
  invoice: Invoice;
  workspace: Workspace | null;
  /** Captures and refunds asked for and not answered yet: they hold money. */
  pendingCapture: number;
  pendingRefund: number;
  /** due − captured − pending captures. */
  remaining: number;
  /** captured − refunded, from the invoice's totals. */
  net: number;
  /** The sum of the ledger lines: must equal `net`. */
  ledgerNet: number;
  processor: ProcessorView;
  timeline: InvoiceTimelineEvent[];
  adjustments: InvoiceAdjustment[];
  refunds: Refund[];
  attempts: PaymentAttempt[];
  processorEvents: ProcessorEvent[];
};

const UNSETTLED = new Set(['PENDING', 'UNKNOWN']);

/**
 * Everything the invoice page shows, read with the same functions as GraphQL's nested fields, plus the
 * processor's own view of the payment so the page can show when the two disagree. Null when the
 * invoice does not exist or lies outside the viewer's workspace.
 */
export async function invoiceOverview(deps: Deps, viewer: Viewer, invoiceId: string): Promise<InvoiceOverview | null> {
  const invoice = await findInvoice(deps.db, viewer, invoiceId);
  if (!invoice) return null;
  const ids = [invoice.id];
  const [[workspace], [timeline], [adjustments], [refunds], [attempts], [events], processor] = await Promise.all([
    workspacesByIds(deps.db, [invoice.workspaceId]),
    timelinesFor(deps.db, ids),
    adjustmentsFor(deps.db, ids),
    refundsFor(deps.db, ids),
    paymentAttemptsFor(deps.db, ids),
    processorEventsFor(deps.db, ids),
    processorView(deps, invoice),
  ]);
  const pending = (kind: 'CAPTURE' | 'REFUND') =>
    attempts!.filter((attempt) => attempt.kind === kind && UNSETTLED.has(attempt.status)).reduce((total, attempt) => total + attempt.amount, 0);
  const pendingCapture = pending('CAPTURE');
  return {
    invoice,
    workspace: workspace ?? null,
    pendingCapture,
    pendingRefund: pending('REFUND'),
    remaining: invoice.amountDue - invoice.amountCaptured - pendingCapture,
    net: invoice.amountCaptured - invoice.amountRefunded,
    ledgerNet: adjustments!.reduce((total, line) => total + line.amount, 0),
    processor,
    timeline: timeline!,
    adjustments: adjustments!,
    refunds: refunds!,
    attempts: attempts!,
    processorEvents: events!,
  };
}

async function processorView(deps: Deps, invoice: Invoice): Promise<ProcessorView> {
  if (!invoice.paymentIntentId) return { kind: 'no-payment-intent' };
  try {
    const payment = await deps.gateway.getPayment(invoice.paymentIntentId);
    if (!payment) return { kind: 'unknown' };
    const refunded = processorRefunded(payment);
    return {
      kind: 'known',
      net: payment.amountCaptured - refunded,
      captured: payment.amountCaptured,
      refunded,
      status: payment.status,
    };
  } catch (error) {
    // A page must still render when the processor does not answer; the strip says so.
    deps.logger.warn({ err: error, invoiceId: invoice.id }, 'processor view unavailable for the dashboard');
    return { kind: 'unavailable', message: error instanceof Error ? error.message : String(error) };
  }
}
