import { eq, sql } from 'drizzle-orm';
import { prepared } from '../../db/prepared.js';
import type { Tx } from '../../db/client.js';
import { paymentAttempts, type PaymentAttempt, type Source } from '../../db/schema/index.js';
import { appendTimelineEvents } from './timeline.js';

/**
 * The attempt row's status changes, in the caller's transaction (which holds the invoice lock, then
 * the attempt's). An attempt is a request and its answer; the money itself is in the ledger lines.
 */

export async function markSucceeded(tx: Tx, attempt: PaymentAttempt, processorObjectId: string): Promise<PaymentAttempt> {
  if (attempt.status === 'SUCCEEDED') return attempt;
  const [updated] = await succeeded(tx, { id: attempt.id, processorObjectId, completedAt: new Date() });
  return updated!;
}

const succeeded = prepared('attempt_succeeded', (db) =>
  db
    .update(paymentAttempts)
    .set({ status: 'SUCCEEDED', processorObjectId: sql`${sql.placeholder('processorObjectId')}`, errorCode: null, errorMessage: null, completedAt: sql`${sql.placeholder('completedAt')}` })
    .where(eq(paymentAttempts.id, sql.placeholder('id')))
    .returning(),
);

export async function markFailed(tx: Tx, attempt: PaymentAttempt, failure: { code: string; message: string; source: Source }): Promise<PaymentAttempt> {
  if (attempt.status === 'FAILED' || attempt.status === 'SUCCEEDED') return attempt;
  const [updated] = await tx
    .update(paymentAttempts)
    .set({ status: 'FAILED', errorCode: failure.code, errorMessage: failure.message, completedAt: new Date() })
    .where(eq(paymentAttempts.id, attempt.id))
    .returning();
  await appendTimelineEvents(tx, [
    {
      invoiceId: attempt.invoiceId,
      type: attempt.kind === 'CAPTURE' ? 'CAPTURE_FAILED' : 'REFUND_FAILED',
      source: failure.source,
      dedupeKey: `attempt:${attempt.id}:failed`,
      data: { amount: attempt.amount, currency: attempt.currency, declineCode: failure.code, message: failure.message },
      paymentAttemptId: attempt.id,
    },
  ]);
  return updated!;
}

/** The processor's answer was lost: the attempt's settle job will ask it. */
export async function markUnknown(tx: Tx, attempt: PaymentAttempt, message: string): Promise<PaymentAttempt> {
  if (attempt.status !== 'PENDING') return attempt;
  const [updated] = await tx
    .update(paymentAttempts)
    .set({ status: 'UNKNOWN', errorCode: 'GATEWAY_UNAVAILABLE', errorMessage: message })
    .where(eq(paymentAttempts.id, attempt.id))
    .returning();
  return updated!;
}

export async function lockAttempt(tx: Tx, attemptId: string): Promise<PaymentAttempt | undefined> {
  const [attempt] = await attemptById(tx, { id: attemptId });
  return attempt;
}

const attemptById = prepared('lock_attempt', (db) => db.select().from(paymentAttempts).where(eq(paymentAttempts.id, sql.placeholder('id'))).for('update'));
