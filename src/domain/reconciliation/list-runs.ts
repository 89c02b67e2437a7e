import { desc, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { reconciliationMismatches, reconciliationRuns, type ReconciliationMismatch, type ReconciliationRun } from '../../db/schema/index.js';
import { requireOperator, type Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { pageSize } from '../pagination.js';
import { runReconciliation } from './reconcile.js';

/** Newest first. Operators only. */
export async function listReconciliationRuns(db: DbOrTx, viewer: Viewer, first?: number | null): Promise<ReconciliationRun[]> {
  requireOperator(viewer, 'read reconciliation runs');
  return db.select().from(reconciliationRuns).orderBy(desc(reconciliationRuns.startedAt)).limit(pageSize(first));
}

export async function mismatchesForRuns(db: DbOrTx, runIds: readonly string[]): Promise<ReconciliationMismatch[][]> {
  const rows = await db.select().from(reconciliationMismatches).where(inArray(reconciliationMismatches.runId, [...runIds]));
  return runIds.map((id) => rows.filter((row) => row.runId === id));
}

/** An operator's run, from GraphQL. */
export function reconcileNow(deps: Deps, viewer: Viewer, full = false): Promise<ReconciliationRun> {
  requireOperator(viewer, 'run a reconciliation');
  return runReconciliation(deps, { trigger: 'OPERATOR', full });
}
