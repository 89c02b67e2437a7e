import type { PaymentAttempt } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import {
  GatewayDeclinedError,
  type CaptureResult,
  type ProcessorRefund,
  type RefundReason,
} from '../gateway/billing-gateway-client.js';

export type ProcessorOutcome =
  | { kind: 'captured'; capture: CaptureResult }
  /** A refund the processor made for the attempt, in whatever status it now has. */
  | { kind: 'refunded'; refund: ProcessorRefund }
  | { kind: 'declined'; code: string; message: string }
  | { kind: 'unknown'; message: string };

/**
 * Step 2: send the attempt to the processor, holding no lock, with the attempt's id as the idempotency
 * key (and in metadata, so that a lookup finds what it did). Never throws for the processor's sake:
 * whatever happened is an outcome for step 3 to record.
 */
export async function callProcessor(deps: Deps, attempt: PaymentAttempt, paymentIntentId: string): Promise<ProcessorOutcome> {
  try {
    if (attempt.kind === 'CAPTURE') {
      const capture = await deps.gateway.capture({
        idempotencyKey: attempt.id,
        invoiceId: attempt.invoiceId,
        paymentIntentId,
        amount: attempt.amount,
        currency: attempt.currency,
        finalCapture: attempt.metadata?.finalCapture === true,
      });
      return { kind: 'captured', capture };
    }
    const refund = await deps.gateway.refund({
      idempotencyKey: attempt.id,
      invoiceId: attempt.invoiceId,
      paymentIntentId,
      amount: attempt.amount,
      currency: attempt.currency,
      reason: attempt.reason as RefundReason,
    });
    return { kind: 'refunded', refund: { ...refund, attemptId: attempt.id } };
  } catch (error) {
    if (error instanceof GatewayDeclinedError) return { kind: 'declined', code: error.declineCode, message: error.message };
    deps.logger.warn({ err: error, attemptId: attempt.id }, 'processor call ended without an answer');
    return { kind: 'unknown', message: error instanceof Error ? error.message : String(error) };
  }
}
