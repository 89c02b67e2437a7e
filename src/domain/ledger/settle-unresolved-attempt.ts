import { eq } from 'drizzle-orm';
import { invoices, paymentAttempts, type PaymentAttempt, type Source } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import type { PaymentState } from '../gateway/billing-gateway-client.js';
import { attemptResult } from './attempt-result.js';
import { callProcessor, type ProcessorOutcome } from './call-processor.js';
import { settleAttempt, type SettledAttempt } from './settle-attempt.js';

/**
 * Settles an attempt whose answer never arrived (a timeout, a 500, a crash between steps 2 and 3) by
 * asking, never by re-sending blind:
 * 1. look the payment up at the processor: if it shows the attempt's capture (its id in the capture
 *    metadata) or refund (its id in the refund's metadata), that is the outcome;
 * 2. otherwise, while the processor surely still holds the idempotency key (GATEWAY_RESEND_WINDOW_SECONDS
 *    from the first send, well under Stripe's 24 hours), send it again with the same key: the processor
 *    answers from its record or does it now, once. After a lookup found nothing, a decline is believed;
 * 3. past the window it is never re-sent (a new request could move the money twice): nothing at the
 *    processor means nothing moved, and the attempt fails.
 * An attempt still within its first call's timeout is left alone. A processor that does not answer
 * throws (GatewayUnavailableError): the settle job retries with backoff, reconciliation later.
 * Any money that moves after all reaches the ledger through webhooks and reconciliation.
 */
export async function settleUnresolvedAttempt(deps: Deps, attemptId: string, source: Source): Promise<SettledAttempt> {
  const [row] = await deps.db
    .select({ attempt: paymentAttempts, paymentIntentId: invoices.paymentIntentId })
    .from(paymentAttempts)
    .innerJoin(invoices, eq(invoices.id, paymentAttempts.invoiceId))
    .where(eq(paymentAttempts.id, attemptId));
  if (!row) throw new Error(`payment attempt ${attemptId} does not exist`);
  const { attempt, paymentIntentId } = row;
  const unchanged = async () => ({ ...(await attemptResult(deps.db, attempt)), previousStatus: attempt.status });
  if (attempt.status === 'SUCCEEDED' || attempt.status === 'FAILED') return unchanged();
  if (!paymentIntentId) {
    return settleAttempt(deps, attempt, { kind: 'declined', code: 'payment_intent_missing', message: 'The invoice has no payment intent' }, source);
  }

  const age = Date.now() - attempt.createdAt.getTime();
  if (attempt.status === 'PENDING' && age < deps.config.gatewayTimeoutMs) return unchanged();

  const shown = outcomeShown(attempt, await deps.gateway.getPayment(paymentIntentId));
  if (shown) return settleAttempt(deps, attempt, shown, source);
  if (age < deps.config.gatewayResendWindowSeconds * 1000) {
    return settleAttempt(deps, attempt, await callProcessor(deps, attempt, paymentIntentId), source);
  }
  return settleAttempt(
    deps,
    attempt,
    {
      kind: 'declined',
      code: 'not_at_processor',
      message: 'The processor has no record of this request, and it is past the window in which it could safely be sent again',
    },
    source,
  );
}

/** What the processor's view of the payment says this attempt did, if it shows it at all. */
export function outcomeShown(attempt: PaymentAttempt, payment: PaymentState | null): ProcessorOutcome | null {
  if (!payment) return null;
  if (attempt.kind === 'CAPTURE') {
    if (!payment.captureAttemptIds.includes(attempt.id) || !payment.chargeId) return null;
    return {
      kind: 'captured',
      capture: {
        status: 'succeeded',
        paymentIntentId: payment.paymentIntentId,
        chargeId: payment.chargeId,
        amountCaptured: attempt.amount,
        capturedTotal: payment.amountCaptured,
        // Never before the request was made: a lower bound when the processor gives no time.
        capturedAt: payment.capturedAt ?? attempt.createdAt,
        settledAt: payment.settledAt,
      },
    };
  }
  const refund = payment.refunds.find((candidate) => candidate.attemptId === attempt.id);
  return refund ? { kind: 'refunded', refund } : null;
}
