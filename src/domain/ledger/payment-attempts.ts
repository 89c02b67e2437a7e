import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import {
  invoiceAdjustments,
  invoices,
  paymentAttempts,
  refunds,
  workspaces,
  type AttemptKind,
  type Invoice,
  type InvoiceAdjustment,
  type PaymentAttempt,
  type Refund,
  type Workspace,
} from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { canSeeWorkspace, type Viewer } from '../auth/viewer.js';
import { attemptIsUnsettled } from '../../db/partial-indexes.js';

/** What a capture or refund answers: the invoice after it, and what was written for it. */
export type AttemptResult = {
  invoice: Invoice;
  attempt: PaymentAttempt;
  adjustment: InvoiceAdjustment | null;
  refund: Refund | null;
};

const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Stripe-like keys: any printable string up to 255 characters; a fresh one when the caller gives none. */
export function parseIdempotencyKey(key: string | null | undefined): string | undefined {
  if (key === null || key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || /[^\x20-\x7e]/.test(key)) {
    throw new DomainError('BAD_USER_INPUT', `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable characters`, {
      field: 'idempotencyKey',
    });
  }
  return key;
}

/** The request as the idempotency check compares it: the same key with another request is refused. */
export function hashRequest(request: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.keys(request).sort().map((key) => [key, request[key] ?? null]));
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Locks the invoice row for the rest of the transaction: every change to an invoice's money goes
 * through this lock, so concurrent requests see each other's reservations.
 */
export async function lockInvoice(tx: Tx, viewer: Viewer | null, invoiceId: string): Promise<{ invoice: Invoice; workspace: Workspace }> {
  const [row] = await tx
    .select({ invoice: invoices, workspace: workspaces })
    .from(invoices)
    .innerJoin(workspaces, eq(workspaces.id, invoices.workspaceId))
    .where(eq(invoices.id, invoiceId))
    .for('update', { of: invoices });
  if (!row || (viewer && !canSeeWorkspace(viewer, row.invoice.workspaceId))) {
    throw new DomainError('NOT_FOUND', `Invoice ${invoiceId} not found`);
  }
  return row;
}

export async function findAttemptByKey(tx: Tx, invoiceId: string, kind: AttemptKind, idempotencyKey: string) {
  const [attempt] = await tx
    .select()
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.invoiceId, invoiceId), eq(paymentAttempts.kind, kind), eq(paymentAttempts.idempotencyKey, idempotencyKey)));
  return attempt;
}

/** Money reserved by attempts whose outcome is not known yet: it may still move. */
export async function reservedAmount(tx: Tx, invoiceId: string, kind: AttemptKind): Promise<number> {
  const [row] = await tx
    .select({ total: sql<string>`coalesce(sum(${paymentAttempts.amount}), 0)` })
    .from(paymentAttempts)
    .where(
      and(eq(paymentAttempts.invoiceId, invoiceId), eq(paymentAttempts.kind, kind), attemptIsUnsettled),
    );
  return Number(row?.total ?? 0);
}

/** The result a finished attempt produced, read back for an idempotent replay. */
export async function attemptResult(tx: Tx, attempt: PaymentAttempt): Promise<AttemptResult> {
  const [invoice] = await tx.select().from(invoices).where(eq(invoices.id, attempt.invoiceId));
  const [adjustment] = await tx.select().from(invoiceAdjustments).where(eq(invoiceAdjustments.paymentAttemptId, attempt.id));
  const [refund] = await tx.select().from(refunds).where(eq(refunds.paymentAttemptId, attempt.id));
  return { invoice: invoice!, attempt, adjustment: adjustment ?? null, refund: refund ?? null };
}

/** What repeating a request with a known key answers, as Stripe does: the first result, errors included. */
export function replayedOutcome(attempt: PaymentAttempt): 'result' | 'redrive' {
  switch (attempt.status) {
    case 'SUCCEEDED':
      return 'result';
    case 'FAILED':
      throw declinedError(attempt);
    case 'PENDING':
      throw new DomainError('IDEMPOTENCY_KEY_IN_USE', 'A request with this idempotency key is still in progress; retry shortly', {
        attemptId: attempt.id,
      });
    case 'UNKNOWN':
      // The first request ended without the processor's answer: asking again with the same key is safe.
      return 'redrive';
  }
}

export function declinedError(attempt: PaymentAttempt): DomainError {
  return new DomainError('GATEWAY_DECLINED', attempt.errorMessage ?? 'The payment processor declined the request', {
    attemptId: attempt.id,
    declineCode: attempt.errorCode,
  });
}
