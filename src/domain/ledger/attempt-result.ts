import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { invoiceAdjustments, invoices, refunds, type Invoice, type InvoiceAdjustment, type PaymentAttempt, type Refund } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';

/** What a capture or refund answers: the invoice after it, and what was written for it. */
export type AttemptResult = {
  invoice: Invoice;
  attempt: PaymentAttempt;
  /** The ledger line the attempt wrote; null when a webhook had recorded the same money first. */
  adjustment: InvoiceAdjustment | null;
  refund: Refund | null;
};

/** The result a finished attempt produced, read back for an idempotent replay. */
export async function attemptResult(db: DbOrTx, attempt: PaymentAttempt): Promise<AttemptResult> {
  const [invoice] = await db.select().from(invoices).where(eq(invoices.id, attempt.invoiceId));
  const [adjustment] = await db.select().from(invoiceAdjustments).where(eq(invoiceAdjustments.paymentAttemptId, attempt.id));
  const [refund] = await db.select().from(refunds).where(eq(refunds.paymentAttemptId, attempt.id));
  return { invoice: invoice!, attempt, adjustment: adjustment ?? null, refund: refund ?? null };
}

export function declinedError(attempt: PaymentAttempt): DomainError {
  return new DomainError('GATEWAY_DECLINED', attempt.errorMessage ?? 'The payment processor declined the request', {
    attemptId: attempt.id,
    declineCode: attempt.errorCode,
  });
}

export function unsettledError(attempt: PaymentAttempt): DomainError {
  return new DomainError('GATEWAY_UNAVAILABLE', 'The payment processor did not answer; the request stays pending and will be settled by asking it', {
    attemptId: attempt.id,
  });
}
