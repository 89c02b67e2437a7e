import { and, asc, lt, sql } from 'drizzle-orm';
import { paymentAttempts, type PaymentAttempt } from '../../db/schema/index.js';
import { isDomainError } from '../../errors.js';
import type { Deps } from '../deps.js';
import { driveAttempt } from '../ledger/drive-attempt.js';
import { attemptIsUnsettled } from '../../db/partial-indexes.js';

const BATCH = 100;

/**
 * Step 1: attempts still PENDING or UNKNOWN past the grace period (a crash or a timeout between the
 * gateway call and the write). Asking the gateway the same question with the same idempotency key
 * tells what happened without moving money twice; the answer is recorded like a live one.
 * Each stale attempt is visited once per run. Returns how many got a final state.
 */
export async function settleStaleAttempts(deps: Deps, graceSeconds: number): Promise<number> {
  const cutoff = new Date(Date.now() - graceSeconds * 1000);
  let settled = 0;
  let last: PaymentAttempt | undefined;
  for (;;) {
    const batch = await deps.db
      .select()
      .from(paymentAttempts)
      .where(
        and(
          attemptIsUnsettled,
          lt(paymentAttempts.createdAt, cutoff),
          // Keyset on the stored values (a JS Date would drop the microseconds).
          last ? sql`(${paymentAttempts.createdAt}, ${paymentAttempts.id}) > (SELECT created_at, id FROM payment_attempts WHERE id = ${last.id})` : undefined,
        ),
      )
      .orderBy(asc(paymentAttempts.createdAt), asc(paymentAttempts.id))
      .limit(BATCH);
    for (const attempt of batch) {
      try {
        await driveAttempt(deps, attempt, 'RECONCILIATION');
        settled++;
      } catch (error) {
        if (!isDomainError(error)) throw error;
        // A decline is a final answer too; an unavailable gateway leaves the attempt for the next run.
        if (error.code === 'GATEWAY_DECLINED') settled++;
      }
    }
    if (batch.length < BATCH) return settled;
    last = batch.at(-1);
  }
}
