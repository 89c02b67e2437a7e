import { randomUUID } from 'node:crypto';
import { DomainError } from '../../errors.js';
import type { Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { REFUND_REASONS, type RefundReason } from '../gateway/billing-gateway-client.js';
import type { AttemptResult } from './attempt-result.js';
import { reservedAmount } from './balance.js';
import { hashRequest, parseIdempotencyKey } from './idempotency.js';
import { parseAmount } from './money.js';
import { performAttempt } from './perform-attempt.js';
import { reserveAttempt } from './reserve-attempt.js';

export type RefundInvoiceInput = {
  invoiceId: string;
  /** Minor units; all that is refundable when omitted. */
  amount?: number | null | undefined;
  reason: string;
  note?: string | null | undefined;
  idempotencyKey?: string | null | undefined;
};

const MAX_NOTE_LENGTH = 500;

/** Refunds all or part of what was captured, exactly once, with a reason code from REFUND_REASONS. */
export async function refundInvoice(deps: Deps, viewer: Viewer, input: RefundInvoiceInput): Promise<AttemptResult> {
  const amount = input.amount === null || input.amount === undefined ? undefined : parseAmount(input.amount);
  const reason = parseRefundReason(input.reason);
  const note = input.note?.trim() || null;
  if (note && note.length > MAX_NOTE_LENGTH) {
    throw new DomainError('BAD_USER_INPUT', `note must be at most ${MAX_NOTE_LENGTH} characters`, { field: 'note' });
  }
  const idempotencyKey = parseIdempotencyKey(input.idempotencyKey) ?? randomUUID();
  const requestHash = hashRequest({ operation: 'refund', invoiceId: input.invoiceId, amount, reason, note });

  const reservation = await reserveAttempt(deps, viewer, { invoiceId: input.invoiceId, kind: 'REFUND', idempotencyKey, requestHash }, async (tx, invoice) => {
    const refundable = invoice.amountCaptured - invoice.amountRefunded - (await reservedAmount(tx, invoice.id, 'REFUND'));
    const toRefund = amount ?? refundable;
    if (toRefund <= 0 || toRefund > refundable || !invoice.paymentIntentId) {
      throw new DomainError('AMOUNT_EXCEEDS_BALANCE', `Only ${Math.max(refundable, 0)} can be refunded on this invoice now`, {
        refundable: Math.max(refundable, 0),
        requested: toRefund,
      });
    }
    return { amount: toRefund, reason, note };
  });
  return performAttempt(deps, reservation);
}

export function parseRefundReason(reason: string | null | undefined): RefundReason {
  const code = (reason ?? '').trim().toUpperCase();
  if (!(REFUND_REASONS as readonly string[]).includes(code)) {
    throw new DomainError('BAD_USER_INPUT', `reason must be one of ${REFUND_REASONS.join(', ')}`, { field: 'reason' });
  }
  return code as RefundReason;
}
