import { desc, eq, sql } from 'drizzle-orm';
import { reconciliationRuns, type ReconciliationRun } from '../../db/schema/index.js';
import type { QueuePayloads } from '../jobs/queues.js';
import type { Deps } from '../deps.js';
import { backfillSettlements } from './backfill-settlements.js';
import { backfillTimeline } from './backfill-timeline.js';
import { compareSettlements } from './compare-settlements.js';
import { settleStaleAttempts } from './settle-stale-attempts.js';

export type ReconciliationTrigger = QueuePayloads['reconciliation']['trigger'];
export type ReconcileOptions = {
  trigger: ReconciliationTrigger;
  /** Check every ledger line for its timeline event, not only those since the last successful run. */
  full?: boolean;
};

const LOCK_KEY = 'billing-ledger:reconciliation';
/** Lines committed late (a long transaction) are still seen: the watermark looks back this far. */
const WATERMARK_MARGIN_MS = 60 * 60 * 1000;

/**
 * One reconciliation run (DESIGN.md "Reconciliation"): settle stale attempts, backfill timeline
 * events, backfill settlement times, compare with the processor's settlement records. One at a time
 * across every process (a transaction-scoped advisory lock: a crashed run frees it); a second caller
 * meanwhile gets the run in progress. Each fix commits on its own, so a run that fails half-way is
 * recorded as FAILED and the next run carries on where it stopped. Every step visits only the rows
 * that may need work (partial indexes and a watermark), not the whole table.
 */
export async function runReconciliation(deps: Deps, options: ReconcileOptions): Promise<ReconciliationRun> {
  return deps.db.transaction(async (lockTx) => {
    const [lock] = await lockTx.execute<{ acquired: boolean }>(sql`SELECT pg_try_advisory_xact_lock(hashtext(${LOCK_KEY})) AS acquired`);
    if (!lock?.acquired) return (await runInProgress(deps)) ?? waitForNextTurn(deps, options);

    const since = options.full ? new Date(0) : await watermark(deps);
    const [run] = await deps.db.insert(reconciliationRuns).values({ trigger: options.trigger }).returning();
    const counts = { attemptsSettled: 0, timelineEventsBackfilled: 0, settlementsBackfilled: 0, invoicesChecked: 0, mismatchesFound: 0 };
    let error: string | null = null;
    try {
      counts.attemptsSettled = await settleStaleAttempts(deps, deps.config.pendingAttemptGraceSeconds);
      counts.timelineEventsBackfilled = await backfillTimeline(deps, since);
      counts.settlementsBackfilled = await backfillSettlements(deps);
      Object.assign(counts, await compareSettlements(deps, run!.id));
    } catch (failure) {
      error = failure instanceof Error ? failure.message : String(failure);
      deps.logger.error({ err: failure, runId: run!.id }, 'reconciliation run failed; the next run carries on');
    }
    const [finished] = await deps.db
      .update(reconciliationRuns)
      .set({ ...counts, status: error ? 'FAILED' : 'SUCCEEDED', error, finishedAt: new Date() })
      .where(eq(reconciliationRuns.id, run!.id))
      .returning();
    deps.metrics.recordReconciliationRun(finished!);
    deps.logger.info({ runId: finished!.id, trigger: options.trigger, status: finished!.status, ...counts }, 'reconciliation run finished');
    return finished!;
  });
}

/** Where the last successful run started, less a margin; the beginning of time before any run. */
async function watermark(deps: Deps): Promise<Date> {
  const [last] = await deps.db
    .select({ startedAt: reconciliationRuns.startedAt })
    .from(reconciliationRuns)
    .where(eq(reconciliationRuns.status, 'SUCCEEDED'))
    .orderBy(desc(reconciliationRuns.startedAt))
    .limit(1);
  return last ? new Date(last.startedAt.getTime() - WATERMARK_MARGIN_MS) : new Date(0);
}

async function runInProgress(deps: Deps): Promise<ReconciliationRun | undefined> {
  const [running] = await deps.db
    .select()
    .from(reconciliationRuns)
    .where(eq(reconciliationRuns.status, 'RUNNING'))
    .orderBy(desc(reconciliationRuns.startedAt))
    .limit(1);
  return running;
}

/** The lock was taken but its run row is not visible yet (it is being inserted): ask again shortly. */
async function waitForNextTurn(deps: Deps, options: ReconcileOptions): Promise<ReconciliationRun> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  return (await runInProgress(deps)) ?? runReconciliation(deps, options);
}
