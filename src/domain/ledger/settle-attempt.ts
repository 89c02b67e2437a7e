import type { AttemptStatus, Source } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import type { PaymentMovement } from '../metrics/metrics.js';
import { attemptResult, type AttemptResult } from './attempt-result.js';
import { lockAttempt, markFailed, markSucceeded, markUnknown } from './attempt-status.js';
import type { ProcessorOutcome } from './call-processor.js';
import { lockInvoice } from './lock-invoice.js';
import type { MoneyContext } from './money-context.js';
import { recordCapturedTotal } from './record-capture.js';
import { recordProcessorRefund } from './record-refund.js';

/** What settling found: the attempt's status before (metrics count a change once). */
export type SettledAttempt = AttemptResult & { previousStatus: AttemptStatus };

/**
 * Step 3: record what the processor answered for an attempt, in a transaction of its own. Idempotent:
 * an attempt settled already (by a retry, its settle job, a webhook, reconciliation) is returned as
 * it is — except that money the processor reports moved always reaches the ledger, once.
 */
export async function settleAttempt(
  deps: Deps,
  known: { id: string; invoiceId: string },
  outcome: ProcessorOutcome,
  source: Source,
): Promise<SettledAttempt> {
  const recorded: PaymentMovement[] = [];
  const settled = await deps.db.transaction(async (tx) => {
    // Both locks in one round trip, in the order every money path takes them: the invoice, then the attempt.
    const [{ invoice }, locked] = await Promise.all([lockInvoice(tx, null, known.invoiceId), lockAttempt(tx, known.id)]);
    const attempt = locked!;
    const previousStatus = attempt.status;
    const context: MoneyContext = { tx, jobs: deps.jobs, source, recorded };
    switch (outcome.kind) {
      case 'unknown':
        return { ...(await attemptResult(tx, await markUnknown(tx, attempt, outcome.message))), previousStatus };
      case 'declined':
        return { ...(await attemptResult(tx, await markFailed(tx, attempt, { ...outcome, source }))), previousStatus };
      case 'captured': {
        const { capture } = outcome;
        const recorded = await recordCapturedTotal(context, invoice, {
          paymentIntentId: capture.paymentIntentId,
          chargeId: capture.chargeId,
          capturedTotal: capture.capturedTotal,
          currency: attempt.currency,
          capturedAt: capture.capturedAt,
          settledAt: capture.settledAt,
          // The line leads back to the attempt, unless the attempt already has one.
          paymentAttemptId: attempt.status === 'SUCCEEDED' ? null : attempt.id,
          attemptAmount: attempt.amount,
        });
        const updated = await markSucceeded(tx, attempt, capture.chargeId);
        // The line just written is the attempt's; none written means the money was recorded before
        // (a webhook, or this attempt settled already): then the answer is read back. A capture has no refund.
        if (recorded.adjustment) return { invoice: recorded.invoice, attempt: updated, adjustment: recorded.adjustment, refund: null, previousStatus };
        return { ...(await attemptResult(tx, updated)), previousStatus };
      }
      case 'refunded': {
        const written = await recordProcessorRefund(context, invoice, { ...outcome.refund, attemptId: attempt.id });
        const result = await attemptResult(tx, written.attempt ?? attempt);
        return { ...result, previousStatus };
      }
    }
  });
  for (const movement of recorded) deps.metrics.recordPayment(movement);
  if (settled.previousStatus !== settled.attempt.status) deps.metrics.recordAttempt(settled.attempt);
  return settled;
}
