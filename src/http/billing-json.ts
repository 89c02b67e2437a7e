import type { Invoice, InvoiceAdjustment, PaymentAttempt, Refund } from '../db/schema/index.js';
import type { AttemptResult } from '../domain/ledger/attempt-result.js';

/**
 * The REST answers' shapes, field by field: a column added to a table never leaks into an answer,
 * and internal columns (request hashes, who asked, reconciliation stamps) never do.
 */

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function invoiceJson(invoice: Invoice, amountRemaining: number) {
  return {
    id: invoice.id,
    workspaceId: invoice.workspaceId,
    number: invoice.number,
    currency: invoice.currency,
    status: invoice.status,
    amountDue: invoice.amountDue,
    amountCaptured: invoice.amountCaptured,
    amountRefunded: invoice.amountRefunded,
    amountRemaining,
    paymentIntentId: invoice.paymentIntentId,
    externalProcessorId: invoice.externalProcessorId,
    capturedAt: iso(invoice.capturedAt),
    settledAt: iso(invoice.settledAt),
    createdAt: iso(invoice.createdAt),
  };
}

export function attemptJson(attempt: PaymentAttempt) {
  return {
    id: attempt.id,
    invoiceId: attempt.invoiceId,
    kind: attempt.kind,
    status: attempt.status,
    amount: attempt.amount,
    currency: attempt.currency,
    reason: attempt.reason,
    note: attempt.note,
    idempotencyKey: attempt.idempotencyKey,
    processorObjectId: attempt.processorObjectId,
    errorCode: attempt.errorCode,
    errorMessage: attempt.errorMessage,
    createdAt: iso(attempt.createdAt),
    completedAt: iso(attempt.completedAt),
  };
}

export function adjustmentJson(adjustment: InvoiceAdjustment) {
  return {
    id: adjustment.id,
    invoiceId: adjustment.invoiceId,
    kind: adjustment.kind,
    amount: adjustment.amount,
    currency: adjustment.currency,
    reasonCode: adjustment.reasonCode,
    note: adjustment.note,
    source: adjustment.source,
    paymentAttemptId: adjustment.paymentAttemptId,
    processorEventId: adjustment.processorEventId,
    processorObjectId: adjustment.processorObjectId,
    createdAt: iso(adjustment.createdAt),
  };
}

export function refundJson(refund: Refund) {
  return {
    id: refund.id,
    invoiceId: refund.invoiceId,
    adjustmentId: refund.adjustmentId,
    paymentAttemptId: refund.paymentAttemptId,
    amount: refund.amount,
    currency: refund.currency,
    reason: refund.reason,
    note: refund.note,
    source: refund.source,
    processorRefundId: refund.processorRefundId,
    failedAt: iso(refund.failedAt),
    createdAt: iso(refund.createdAt),
  };
}

export function attemptResultJson(result: AttemptResult, amountRemaining: number) {
  return {
    invoice: invoiceJson(result.invoice, amountRemaining),
    attempt: attemptJson(result.attempt),
    adjustment: result.adjustment ? adjustmentJson(result.adjustment) : null,
    ...(result.refund ? { refund: refundJson(result.refund) } : {}),
  };
}
