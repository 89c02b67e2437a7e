import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { invoices, paymentAttempts, type AttemptStatus, type PaymentAttempt, type Source } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import type { Deps } from '../deps.js';
import type { JobQueue } from '../jobs/queues.js';
import {
  GatewayDeclinedError,
  type CaptureResult,
  type RefundReason,
  type RefundResult,
} from '../gateway/billing-gateway-client.js';
import { appendTimelineEvents } from './timeline.js';
import { attemptResult, declinedError, lockInvoice, type AttemptResult } from './payment-attempts.js';
import { recordCapture } from './record-capture.js';
import { recordRefund } from './record-refund.js';

export type GatewayOutcome =
  | { kind: 'succeeded'; capture: CaptureResult }
  | { kind: 'succeeded'; refund: RefundResult }
  | { kind: 'declined'; code: string; message: string }
  | { kind: 'unknown'; message: string };

/**
 * Steps 2 and 3 of a capture or refund, for an attempt reserved in step 1: call the gateway holding
 * no lock, with the attempt's id as the idempotency key, then record what it answered. Running it
 * again for the same attempt (a client retry, reconciliation) asks the gateway the same question and
 * cannot move money twice. Declines and unknown outcomes are thrown as DomainErrors after they are recorded.
 */
export async function driveAttempt(deps: Deps, attempt: PaymentAttempt, source: Source): Promise<AttemptResult> {
  const outcome = await callGateway(deps, attempt);
  const { previousStatus, ...result } = await finishAttempt(deps, attempt, outcome, source);
  // Counted once per change of status, after it committed: a retry that finds the attempt finished counts nothing.
  if (previousStatus !== result.attempt.status) deps.metrics.recordAttempt(result.attempt);
  if (result.attempt.status === 'FAILED') throw declinedError(result.attempt);
  if (result.attempt.status === 'UNKNOWN' || result.attempt.status === 'PENDING') {
    throw new DomainError('GATEWAY_UNAVAILABLE', 'The payment processor did not answer; the request stays pending and will be settled', {
      attemptId: result.attempt.id,
    });
  }
  return result;
}

async function callGateway(deps: Deps, attempt: PaymentAttempt): Promise<GatewayOutcome> {
  const [invoice] = await deps.db.select().from(invoices).where(eq(invoices.id, attempt.invoiceId));
  const metadata = attempt.metadata ?? {};
  try {
    if (attempt.kind === 'CAPTURE') {
      const capture = await deps.gateway.capture({
        idempotencyKey: attempt.id,
        invoiceId: attempt.invoiceId,
        paymentIntentId: invoice!.paymentIntentId,
        amount: attempt.amount,
        currency: attempt.currency,
        finalCapture: metadata.finalCapture === true,
      });
      return { kind: 'succeeded', capture };
    }
    const refund = await deps.gateway.refund({
      idempotencyKey: attempt.id,
      invoiceId: attempt.invoiceId,
      paymentIntentId: invoice!.paymentIntentId!,
      amount: attempt.amount,
      currency: attempt.currency,
      reason: attempt.reason as RefundReason,
    });
    return { kind: 'succeeded', refund };
  } catch (error) {
    if (error instanceof GatewayDeclinedError) return { kind: 'declined', code: error.declineCode, message: error.message };
    deps.logger.warn({ err: error, attemptId: attempt.id }, 'gateway call ended without an answer');
    return { kind: 'unknown', message: error instanceof Error ? error.message : String(error) };
  }
}

/** Step 3 in a transaction of its own. */
function finishAttempt(deps: Deps, attempt: PaymentAttempt, outcome: GatewayOutcome, source: Source): Promise<SettledAttempt> {
  return deps.db.transaction((tx) => settleAttempt(tx, deps.jobs, attempt, outcome, source));
}

/** What settling found the attempt in: its status changed when `attempt.status` differs (metrics count that). */
export type SettledAttempt = AttemptResult & { previousStatus: AttemptStatus };

/**
 * Records what the processor answered for an attempt, in the caller's transaction. Idempotent: an
 * attempt already finished by someone else (a retry, reconciliation, a webhook) is returned as it is.
 */
export async function settleAttempt(
  tx: Tx,
  jobs: JobQueue,
  known: Pick<PaymentAttempt, 'id' | 'invoiceId'>,
  outcome: GatewayOutcome,
  source: Source,
): Promise<SettledAttempt> {
  const attemptId = known.id;
  // Invoice first, then attempt: the lock order of every money path.
  const { invoice } = await lockInvoice(tx, null, known.invoiceId);
  const [attempt] = await tx.select().from(paymentAttempts).where(eq(paymentAttempts.id, attemptId)).for('update');
  const previousStatus = attempt!.status;
  if (previousStatus === 'SUCCEEDED' || previousStatus === 'FAILED') return { ...(await attemptResult(tx, attempt!)), previousStatus };

  const finished = { completedAt: new Date() };
  if (outcome.kind === 'unknown') {
    const [updated] = await tx
      .update(paymentAttempts)
      .set({ status: 'UNKNOWN', errorCode: 'GATEWAY_UNAVAILABLE', errorMessage: outcome.message })
      .where(eq(paymentAttempts.id, attemptId))
      .returning();
    return { ...(await attemptResult(tx, updated!)), previousStatus };
  }
  if (outcome.kind === 'declined') {
    const [updated] = await tx
      .update(paymentAttempts)
      .set({ status: 'FAILED', errorCode: outcome.code, errorMessage: outcome.message, ...finished })
      .where(eq(paymentAttempts.id, attemptId))
      .returning();
    await appendTimelineEvents(tx, [
      {
        invoiceId: invoice.id,
        type: attempt!.kind === 'CAPTURE' ? 'CAPTURE_FAILED' : 'REFUND_FAILED',
        source,
        dedupeKey: `attempt:${attemptId}:failed`,
        data: { amount: attempt!.amount, currency: attempt!.currency, declineCode: outcome.code, message: outcome.message },
        paymentAttemptId: attemptId,
      },
    ]);
    return { ...(await attemptResult(tx, updated!)), previousStatus };
  }
  if ('capture' in outcome) {
    const { capture } = outcome;
    const recorded = await recordCapture(tx, jobs, invoice, {
      amount: attempt!.amount,
      source,
      paymentIntentId: capture.paymentIntentId,
      chargeId: capture.chargeId,
      capturedAt: capture.capturedAt,
      settledAt: capture.settledAt,
      paymentAttemptId: attemptId,
    });
    const [updated] = await tx
      .update(paymentAttempts)
      .set({ status: 'SUCCEEDED', processorObjectId: capture.chargeId, errorCode: null, errorMessage: null, ...finished })
      .where(eq(paymentAttempts.id, attemptId))
      .returning();
    return { invoice: recorded.invoice, attempt: updated!, adjustment: recorded.adjustment, refund: null, previousStatus };
  }
  const { refund } = outcome;
  const recorded = await recordRefund(tx, invoice, {
    amount: attempt!.amount,
    reason: attempt!.reason!,
    note: attempt!.note,
    source,
    processorRefundId: refund.refundId,
    refundedAt: refund.createdAt,
    paymentAttemptId: attemptId,
  });
  const [updated] = await tx
    .update(paymentAttempts)
    .set({ status: 'SUCCEEDED', processorObjectId: refund.refundId, errorCode: null, errorMessage: null, ...finished })
    .where(eq(paymentAttempts.id, attemptId))
    .returning();
  return { ...recorded, attempt: updated!, previousStatus };
}
