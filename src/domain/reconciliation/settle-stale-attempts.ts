import { and, asc, lt, sql } from 'drizzle-orm';
import { paymentAttempts, type PaymentAttempt } from '../../db/schema/index.js';
import { GatewayUnavailableError } from '../gateway/billing-gateway-client.js';
import type { Deps } from '../deps.js';
import { settleUnresolvedAttempt } from '../ledger/settle-unresolved-attempt.js';
import { attemptIsUnsettled } from '../../db/partial-indexes.js';

const BATCH = 100;

/**
 * Step 1: attempts still PENDING or UNKNOWN past the grace period (their settle jobs gave up, or a
 * crash lost them) are settled by asking the processor, exactly as the settle job does. Each stale
 * attempt is visited once per run; a processor that does not answer leaves it for the next run.
 * Returns how many got a final state.
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
        const { attempt: after } = await settleUnresolvedAttempt(deps, attempt.id, 'RECONCILIATION');
        if (after.status === 'SUCCEEDED' || after.status === 'FAILED') settled++;
      } catch (error) {
        if (!(error instanceof GatewayUnavailableError)) throw error;
      }
    }
    if (batch.length < BATCH) return settled;
    last = batch.at(-1);
  }
}
