import { randomUUID } from 'node:crypto';
import { DomainError } from '../../errors.js';
import type { Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import type { AttemptResult } from './attempt-result.js';
import { reservedAmount } from './balance.js';
import { hashRequest, parseIdempotencyKey } from './idempotency.js';
import { parseAmount } from './money.js';
import { performAttempt } from './perform-attempt.js';
import { reserveAttempt } from './reserve-attempt.js';

export type CaptureInvoiceInput = {
  invoiceId: string;
  /** Minor units; all that remains when omitted. */
  amount?: number | null | undefined;
  idempotencyKey?: string | null | undefined;
};

/** Invoices accept captures until fully captured; once money has been refunded, no more. */
const CAPTURABLE = new Set(['OPEN', 'PARTIALLY_CAPTURED']);

/** Captures all or part of what remains on an invoice, exactly once. */
export async function captureInvoice(deps: Deps, viewer: Viewer, input: CaptureInvoiceInput): Promise<AttemptResult> {
  const amount = input.amount === null || input.amount === undefined ? undefined : parseAmount(input.amount);
  const idempotencyKey = parseIdempotencyKey(input.idempotencyKey) ?? randomUUID();
  const requestHash = hashRequest({ operation: 'capture', invoiceId: input.invoiceId, amount });

  const reservation = await reserveAttempt(deps, viewer, { invoiceId: input.invoiceId, kind: 'CAPTURE', idempotencyKey, requestHash }, async (tx, invoice) => {
    if (!CAPTURABLE.has(invoice.status)) {
      throw new DomainError('INVOICE_NOT_CAPTURABLE', `Invoice is ${invoice.status} and cannot be captured`, { status: invoice.status });
    }
    // Only an authorised payment can be captured, and a lookup must be able to find what a capture did.
    if (!invoice.paymentIntentId) {
      throw new DomainError('INVOICE_NOT_CAPTURABLE', 'Invoice has no payment intent to capture', { status: invoice.status });
    }
    // Money reserved by captures still in flight counts as taken: no amount is ever captured twice.
    const remaining = invoice.amountDue - invoice.amountCaptured - (await reservedAmount(tx, invoice.id, 'CAPTURE'));
    const toCapture = amount ?? remaining;
    if (toCapture <= 0 || toCapture > remaining) {
      throw new DomainError('AMOUNT_EXCEEDS_BALANCE', `Only ${Math.max(remaining, 0)} can be captured on this invoice now`, {
        remaining: Math.max(remaining, 0),
        requested: toCapture,
      });
    }
    // Stripe needs to know whether more partial captures may follow.
    return { amount: toCapture, metadata: { finalCapture: toCapture === remaining } };
  });
  return performAttempt(deps, reservation);
}
