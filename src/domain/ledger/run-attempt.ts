import { paymentAttempts, type AttemptKind, type Invoice, type PaymentAttempt } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { DomainError } from '../../errors.js';
import type { Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { assertRolloutAllows, getRolloutStage } from '../settings/rollout-stage.js';
import { driveAttempt } from './drive-attempt.js';
import { attemptResult, findAttemptByKey, lockInvoice, replayedOutcome, type AttemptResult } from './payment-attempts.js';
import { appendTimelineEvents } from './timeline.js';

export type AttemptRequest = {
  invoiceId: string;
  kind: AttemptKind;
  idempotencyKey: string;
  /** Hash of the request's meaningful fields (hashRequest). */
  requestHash: string;
};

/** What the operation decided to reserve, after checking the locked invoice. */
export type AttemptPlan = {
  amount: number;
  reason?: string | null;
  note?: string | null;
  metadata?: Record<string, unknown>;
};

/**
 * The three steps every capture and refund share (DESIGN.md "Payment lifecycle"):
 * 1. under the invoice's row lock: answer a known idempotency key with its first result, check the
 *    rollout stage, let `plan` check the invoice and pick the amount, reserve it as a pending attempt;
 * 2. and 3. call the gateway holding no lock and record the answer (drive-attempt.ts).
 */
export async function runAttempt(
  deps: Deps,
  viewer: Viewer,
  request: AttemptRequest,
  plan: (tx: Tx, invoice: Invoice) => Promise<AttemptPlan>,
): Promise<AttemptResult> {
  type Reserved = { replay: AttemptResult } | { attempt: PaymentAttempt };
  const reserved: Reserved = await deps.db.transaction(async (tx): Promise<Reserved> => {
    const { invoice, workspace } = await lockInvoice(tx, viewer, request.invoiceId);
    const existing = await findAttemptByKey(tx, invoice.id, request.kind, request.idempotencyKey);
    if (existing) {
      if (existing.requestHash !== request.requestHash) {
        throw new DomainError('IDEMPOTENCY_KEY_REUSED', `This idempotency key was used for a different ${request.kind.toLowerCase()} request`);
      }
      return replayedOutcome(existing) === 'result' ? { replay: await attemptResult(tx, existing) } : { attempt: existing };
    }

    assertRolloutAllows(await getRolloutStage(tx, deps.config), workspace);
    const planned = await plan(tx, invoice);
    const [attempt] = await tx
      .insert(paymentAttempts)
      .values({
        invoiceId: invoice.id,
        kind: request.kind,
        amount: planned.amount,
        currency: invoice.currency,
        reason: planned.reason ?? null,
        note: planned.note ?? null,
        idempotencyKey: request.idempotencyKey,
        requestHash: request.requestHash,
        requestedBy: viewer.tokenId,
        metadata: planned.metadata ?? null,
      })
      .returning();
    await appendTimelineEvents(tx, [
      {
        invoiceId: invoice.id,
        type: request.kind === 'CAPTURE' ? 'CAPTURE_REQUESTED' : 'REFUND_REQUESTED',
        source: 'API',
        dedupeKey: `attempt:${attempt!.id}:requested`,
        data: { amount: planned.amount, currency: invoice.currency, ...(planned.reason ? { reason: planned.reason } : {}) },
        paymentAttemptId: attempt!.id,
      },
    ]);
    return { attempt: attempt! };
  });

  if ('replay' in reserved) return reserved.replay;
  return driveAttempt(deps, reserved.attempt, 'API');
}
