import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { reconciliationRuns, type ReconciliationRun } from '../../db/schema/index.js';
import type { QueuePayloads } from '../jobs/queues.js';
import type { Deps } from '../deps.js';
import { backfillSettlements } from './backfill-settlements.js';
import { backfillTimeline } from './backfill-timeline.js';
import { countingCalls } from './counting-gateway.js';
import { settleStaleAttempts } from './settle-stale-attempts.js';
import { syncWithProcessor } from './sync-with-processor.js';

export type ReconciliationTrigger = QueuePayloads['reconciliation']['trigger'];
export type ReconcileOptions = {
  trigger: ReconciliationTrigger;
  /** Look at everything since the beginning of time, not only since the last successful run. */
  full?: boolean;
};

/** Money that moved late (a long transaction, a slow webhook) is still seen: the watermark looks back this far. */
const WATERMARK_MARGIN_MS = 60 * 60 * 1000;
/** A RUNNING run older than this was abandoned by a process that died: it no longer blocks the next. */
const ABANDONED_AFTER_MS = 30 * 60 * 1000;

const inProcess = new WeakMap<Deps, Promise<ReconciliationRun>>();

/**
 * One reconciliation run (DESIGN.md "Reconciliation"): settle stale attempts by asking the processor,
 * backfill timeline events and settlement times, then read the processor's side — what moved since
 * the watermark — repairing the ledger where the processor holds money it lacks and recording what
 * it cannot explain as a mismatch.
 *
 * One run at a time, without holding a connection for it: concurrent calls in this process share the
 * run in progress; across processes the RUNNING row itself is the lock (a partial unique index), so a
 * caller elsewhere gets that run at once. No code path here holds a pooled connection while it waits
 * for another. Each fix commits on its own, so a run that fails half-way is recorded as FAILED and the
 * next run carries on.
 */
export function runReconciliation(deps: Deps, options: ReconcileOptions): Promise<ReconciliationRun> {
  const running = inProcess.get(deps);
  if (running) return running;
  const run = claimAndRun(deps, options).finally(() => inProcess.delete(deps));
  inProcess.set(deps, run);
  return run;
}

async function claimAndRun(deps: Deps, options: ReconcileOptions): Promise<ReconciliationRun> {
  const since = options.full ? new Date(0) : await watermark(deps);
  const run = await claimRun(deps, options);
  // Running elsewhere: answer with that run rather than wait for it.
  if (!run.claimed) return run.row;

  const counting = countingCalls(deps.gateway);
  const runDeps: Deps = { ...deps, gateway: counting.gateway };
  const counts = { attemptsSettled: 0, timelineEventsBackfilled: 0, settlementsBackfilled: 0, invoicesChecked: 0, mismatchesFound: 0, paymentsRepaired: 0 };
  let error: string | null = null;
  try {
    counts.attemptsSettled = await settleStaleAttempts(runDeps, deps.config.pendingAttemptGraceSeconds);
    counts.timelineEventsBackfilled = await backfillTimeline(runDeps, since);
    counts.settlementsBackfilled = await backfillSettlements(runDeps);
    Object.assign(counts, await syncWithProcessor(runDeps, run.row.id, since));
  } catch (failure) {
    error = failure instanceof Error ? failure.message : String(failure);
    deps.logger.error({ err: failure, runId: run.row.id }, 'reconciliation run failed; the next run carries on');
  }
  const [finished] = await deps.db
    .update(reconciliationRuns)
    .set({ ...counts, processorCalls: counting.calls(), status: error ? 'FAILED' : 'SUCCEEDED', error, finishedAt: new Date() })
    .where(eq(reconciliationRuns.id, run.row.id))
    .returning();
  deps.metrics.recordReconciliationRun(finished!);
  deps.logger.info({ runId: finished!.id, trigger: options.trigger, status: finished!.status, processorCalls: finished!.processorCalls, ...counts }, 'reconciliation run finished');
  return finished!;
}

type Claim = { row: ReconciliationRun; claimed: boolean };

/** Inserts this run as RUNNING, or finds the one running elsewhere; an abandoned one is closed first. */
async function claimRun(deps: Deps, options: ReconcileOptions): Promise<Claim> {
  for (let tries = 0; tries < 3; tries++) {
    const [claimed] = await deps.db
      .insert(reconciliationRuns)
      .values({ trigger: options.trigger })
      .onConflictDoNothing({ target: reconciliationRuns.status, where: sql`${reconciliationRuns.status} = 'RUNNING'` })
      .returning();
    if (claimed) return { row: claimed, claimed: true };
    await deps.db
      .update(reconciliationRuns)
      .set({ status: 'FAILED', error: 'abandoned: the process running it stopped', finishedAt: new Date() })
      .where(and(eq(reconciliationRuns.status, 'RUNNING'), lt(reconciliationRuns.startedAt, new Date(Date.now() - ABANDONED_AFTER_MS))));
    const [running] = await deps.db.select().from(reconciliationRuns).where(eq(reconciliationRuns.status, 'RUNNING')).limit(1);
    if (running) return { row: running, claimed: false };
  }
  throw new Error('could not claim a reconciliation run: runs kept finishing and starting meanwhile');
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
