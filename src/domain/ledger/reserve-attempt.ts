import { sql } from 'drizzle-orm';
import { prepared } from '../../db/prepared.js';
import { paymentAttempts, type AttemptKind, type Invoice, type PaymentAttempt } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { assertRolloutAllows, getRolloutStage } from '../settings/rollout-stage.js';
import { attemptResult, type AttemptResult } from './attempt-result.js';
import { findAttemptByKey, keyInUse, replayedOutcome } from './idempotency.js';
import { lockInvoice } from './lock-invoice.js';
import { appendTimelineEvents } from './timeline.js';

export type AttemptRequest = {
  invoiceId: string;
  kind: AttemptKind;
  idempotencyKey: string;
  /** Hash of the request's meaningful fields, the invoice and the kind among them (hashRequest). */
  requestHash: string;
};

/** What the operation decided to reserve, after checking the locked invoice. */
export type AttemptPlan = {
  amount: number;
  reason?: string | null;
  note?: string | null;
  metadata?: Record<string, unknown>;
};

export type Reservation =
  | { kind: 'new'; attempt: PaymentAttempt; paymentIntentId: string | null }
  | { kind: 'replay'; result: AttemptResult }
  /** The key's first request ended without the processor's answer: settle it by asking. */
  | { kind: 'unresolved'; attempt: PaymentAttempt };

/**
 * Step 1 of every capture and refund (reserve → call the processor → settle), under the invoice's row
 * lock: answer a known idempotency key with its first result, check the rollout stage, let `plan`
 * check the invoice and pick the amount, and reserve it as a pending attempt. In the same transaction
 * a settle job is enqueued, due shortly after the processor call would have timed out: if this
 * process dies before step 3, the job asks the processor what happened.
 */
export async function reserveAttempt(
  deps: Deps,
  viewer: Viewer,
  request: AttemptRequest,
  plan: (tx: Tx, invoice: Invoice) => Promise<AttemptPlan>,
): Promise<Reservation> {
  try {
    return await deps.db.transaction(async (tx): Promise<Reservation> => {
      // Sent together (one round trip): the lock first, so the stage is read once it is held.
      const [{ invoice, workspace }, stage] = await Promise.all([lockInvoice(tx, viewer, request.invoiceId), getRolloutStage(tx, deps.config)]);
      const existing = await findAttemptByKey(tx, workspace.id, request.idempotencyKey);
      if (existing) {
        return replayedOutcome(existing, request.requestHash) === 'result'
          ? { kind: 'replay', result: await attemptResult(tx, existing) }
          : { kind: 'unresolved', attempt: existing };
      }

      assertRolloutAllows(stage, workspace);
      const planned = await plan(tx, invoice);
      const [attempt] = await insertAttempt(tx, {
        invoiceId: invoice.id,
        workspaceId: workspace.id,
        kind: request.kind,
        amount: planned.amount,
        currency: invoice.currency,
        reason: planned.reason ?? null,
        note: planned.note ?? null,
        idempotencyKey: request.idempotencyKey,
        requestHash: request.requestHash,
        requestedBy: viewer.tokenId,
        metadata: planned.metadata ?? null,
      });
      // The event and the job need only the attempt's id: sent together, one round trip.
      await Promise.all([
        appendTimelineEvents(tx, [
          {
            invoiceId: invoice.id,
            type: request.kind === 'CAPTURE' ? 'CAPTURE_REQUESTED' : 'REFUND_REQUESTED',
            source: 'API',
            dedupeKey: `attempt:${attempt!.id}:requested`,
            data: { amount: planned.amount, currency: invoice.currency, ...(planned.reason ? { reason: planned.reason } : {}) },
            paymentAttemptId: attempt!.id,
          },
        ]),
        deps.jobs.enqueue(
          tx,
          'settle-attempt',
          { attemptId: attempt!.id },
          { singletonKey: attempt!.id, startAfterSeconds: settleDelaySeconds(deps.config.gatewayTimeoutMs) },
        ),
      ]);
      return { kind: 'new', attempt: attempt!, paymentIntentId: invoice.paymentIntentId };
    });
  } catch (error) {
    // The same key, at the same moment, on another invoice of the workspace: one of them won.
    if (isUniqueViolation(error, 'payment_attempts_workspace_key_unique')) throw keyInUse();
    throw error;
  }
}

/** Shortly after the processor call would have timed out. */
export const settleDelaySeconds = (gatewayTimeoutMs: number): number => Math.ceil(gatewayTimeoutMs / 1000) + 10;

const insertAttempt = prepared('insert_attempt', (db) =>
  db
    .insert(paymentAttempts)
    .values({
      invoiceId: sql.placeholder('invoiceId'),
      workspaceId: sql.placeholder('workspaceId'),
      kind: sql.placeholder('kind'),
      amount: sql.placeholder('amount'),
      currency: sql.placeholder('currency'),
      reason: sql.placeholder('reason'),
      note: sql.placeholder('note'),
      idempotencyKey: sql.placeholder('idempotencyKey'),
      requestHash: sql.placeholder('requestHash'),
      requestedBy: sql.placeholder('requestedBy'),
      metadata: sql.placeholder('metadata'),
    })
    .returning(),
);
