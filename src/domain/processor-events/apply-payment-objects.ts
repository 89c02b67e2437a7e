import { and, eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { paymentAttempts, refunds, type Invoice, type PaymentAttempt, type Source } from '../../db/schema/index.js';
import { REFUND_REASONS, type RefundReason } from '../gateway/billing-gateway-client.js';
import type { JobQueue } from '../jobs/queues.js';
import { settleAttempt } from '../ledger/drive-attempt.js';
import { reservedAmount } from '../ledger/payment-attempts.js';
import { recordCapture } from '../ledger/record-capture.js';
import { recordRefund } from '../ledger/record-refund.js';
import { reverseRefund } from '../ledger/reverse-refund.js';
import type { PaymentMovement } from '../metrics/metrics.js';
import { ProcessorEventError } from './processor-event-error.js';
import { currencyOf, fromUnixSeconds, type StripeRefund } from './stripe-objects.js';

/**
 * Processor objects are applied by their cumulative totals and their ids, never by "add what this
 * event says": any delivery order of the same events, with any duplicates, ends in the same state.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type ApplyContext = {
  tx: Tx;
  jobs: JobQueue;
  source: Source;
  processorEventId: string;
  /** The money this event entered in the ledger, for the metrics once the event's transaction commits. */
  recorded?: PaymentMovement[];
};

export type CaptureTotal = {
  /** What the processor has captured for the payment so far (Stripe: amount_received / amount_captured). */
  capturedTotal: number;
  currency: string;
  paymentIntentId: string | null;
  chargeId: string | null;
  occurredAt: Date;
};

/** Brings the invoice's captured total up to the processor's; money in flight through our own attempts counts as on its way. */
export async function applyCaptureTotal(context: ApplyContext, invoice: Invoice, total: CaptureTotal): Promise<Invoice> {
  assertCurrency(invoice, total.currency);
  const inFlight = await reservedAmount(context.tx, invoice.id, 'CAPTURE');
  const missing = total.capturedTotal - invoice.amountCaptured - inFlight;
  if (missing <= 0) return invoice;
  if (invoice.voidedAt) throw new ProcessorEventError(`processor captured ${total.capturedTotal} on void invoice ${invoice.id}`);
  if (invoice.amountCaptured + missing > invoice.amountDue) {
    throw new ProcessorEventError(
      `processor captured ${total.capturedTotal} ${invoice.currency}, more than invoice ${invoice.id} is due (${invoice.amountDue})`,
    );
  }
  const { invoice: updated } = await recordCapture(context.tx, context.jobs, invoice, {
    amount: missing,
    source: context.source,
    paymentIntentId: total.paymentIntentId,
    chargeId: total.chargeId,
    capturedAt: total.occurredAt,
    settledAt: null,
    processorEventId: context.processorEventId,
  });
  context.recorded?.push({ kind: 'CAPTURE', currency: invoice.currency, outcome: 'succeeded', amount: missing });
  return updated;
}

/**
 * Records one processor refund, once, whatever event brought it, and gives it back (a reversal line)
 * when the processor reports it failed. A failed refund seen first is recorded and reversed at once,
 * so a late "pending" delivery of it finds it known: every order ends in the same state.
 */
export async function applyRefundObject(context: ApplyContext, invoice: Invoice, refund: StripeRefund): Promise<Invoice> {
  const { tx } = context;
  assertCurrency(invoice, currencyOf(refund));
  const failed = refund.status === 'failed' || refund.status === 'canceled';
  let [known] = await tx.select().from(refunds).where(eq(refunds.processorRefundId, refund.id));
  let current = invoice;

  if (!known) {
    // A refund our own API started carries its attempt's id: finish that attempt rather than count the money twice.
    const attempt = await ourRefundAttempt(context, invoice, refund);
    if (attempt) return settleOurRefund(context, attempt, refund, failed);
    const recorded = await recordProcessorRefund(context, invoice, refund, failed);
    current = recorded.invoice;
    known = recorded.refund;
  }
  if (failed) {
    const before = current.amountRefunded;
    current = await reverseRefund(tx, current, known, {
      source: context.source,
      failedAt: fromUnixSeconds(refund.created),
      failureReason: refund.failure_reason ?? refund.status ?? null,
      processorEventId: context.processorEventId,
    });
    if (current.amountRefunded < before) {
      context.recorded?.push({ kind: 'REFUND_REVERSAL', currency: known.currency, outcome: 'succeeded', amount: known.amount, reason: known.reason });
    }
  }
  return current;
}

async function ourRefundAttempt(context: ApplyContext, invoice: Invoice, refund: StripeRefund): Promise<PaymentAttempt | undefined> {
  const attemptId = refund.metadata.payment_attempt_id;
  if (!attemptId || !UUID.test(attemptId)) return undefined;
  const [attempt] = await context.tx
    .select()
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.id, attemptId), eq(paymentAttempts.invoiceId, invoice.id), eq(paymentAttempts.kind, 'REFUND')));
  return attempt;
}

/** Our attempt learns its outcome from the processor: succeeded (money recorded once) or failed (none). */
async function settleOurRefund(context: ApplyContext, attempt: PaymentAttempt, refund: StripeRefund, failed: boolean): Promise<Invoice> {
  if (!failed && attempt.status === 'FAILED') {
    throw new ProcessorEventError(`processor reports refund ${refund.id} but attempt ${attempt.id} was recorded as declined`);
  }
  if (attempt.amount !== refund.amount) {
    throw new ProcessorEventError(`refund ${refund.id} is for ${refund.amount}, attempt ${attempt.id} for ${attempt.amount}`);
  }
  const outcome = failed
    ? { kind: 'declined' as const, code: 'refund_failed', message: `The processor reported refund ${refund.id} ${refund.status}` }
    : { kind: 'succeeded' as const, refund: { status: 'succeeded' as const, refundId: refund.id, amount: refund.amount, createdAt: fromUnixSeconds(refund.created) } };
  const result = await settleAttempt(context.tx, context.jobs, attempt, outcome, context.source);
  if (result.previousStatus !== result.attempt.status && result.attempt.status === 'SUCCEEDED') {
    context.recorded?.push({ kind: 'REFUND', currency: attempt.currency, outcome: 'succeeded', amount: attempt.amount, reason: attempt.reason });
  }
  return result.invoice;
}

/** A refund made at the processor (dashboard, another system): recorded with the capture it implies. */
async function recordProcessorRefund(context: ApplyContext, invoice: Invoice, refund: StripeRefund, failed: boolean) {
  // A refund means at least this much was captured: record that lower bound now; later capture events
  // raise it to the processor's total, so the end state does not depend on which event came first.
  const inFlightRefunds = await reservedAmount(context.tx, invoice.id, 'REFUND');
  const neededCapture = invoice.amountRefunded + inFlightRefunds + refund.amount;
  let current = invoice;
  if (neededCapture > invoice.amountCaptured) {
    current = await applyCaptureTotal(context, invoice, {
      capturedTotal: neededCapture,
      currency: currencyOf(refund),
      paymentIntentId: refund.payment_intent,
      chargeId: refund.charge,
      occurredAt: fromUnixSeconds(refund.created),
    });
  }
  const reason = reasonCode(refund);
  const recorded = await recordRefund(context.tx, current, {
    amount: refund.amount,
    reason,
    source: context.source,
    processorRefundId: refund.id,
    refundedAt: fromUnixSeconds(refund.created),
    processorEventId: context.processorEventId,
  });
  if (!failed) context.recorded?.push({ kind: 'REFUND', currency: invoice.currency, outcome: 'succeeded', amount: refund.amount, reason });
  return recorded;
}

const STRIPE_REASONS: Record<string, RefundReason> = {
  duplicate: 'DUPLICATE',
  fraudulent: 'FRAUDULENT',
  requested_by_customer: 'REQUESTED_BY_CUSTOMER',
};

/** Our reason code from the refund's metadata when we made it, else Stripe's reason, else OTHER. */
function reasonCode(refund: StripeRefund): RefundReason {
  const ours = refund.metadata.reason_code?.toUpperCase();
  if (ours && (REFUND_REASONS as readonly string[]).includes(ours)) return ours as RefundReason;
  return STRIPE_REASONS[refund.reason ?? ''] ?? 'OTHER';
}

function assertCurrency(invoice: Invoice, currency: string): void {
  if (invoice.currency !== currency) {
    throw new ProcessorEventError(`processor object is in ${currency}, invoice ${invoice.id} in ${invoice.currency}`);
  }
}
