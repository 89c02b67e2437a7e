import { count, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { reconciliationRuns } from '../../src/db/schema/index.js';
import { runReconciliation } from '../../src/domain/reconciliation/reconcile.js';
import { startTestService } from '../support/service.js';
import { connectTo } from '../support/database.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { capture } from '../support/payments.js';

describe('reconciliation never wedges the process', () => {
  it('50 concurrent calls in one process make one run, the other process gets it too, and requests are served meanwhile', async () => {
    // A pool of 5: before, ten concurrent calls each held one connection and waited for a second, for good.
    const service = await startTestService({ DB_POOL_SIZE: '5', BILLING_ROLLOUT_STAGE: 'GENERAL' });
    try {
      const token = await makeOperatorToken(service.deps.db);
      const workspace = await makeWorkspace(service.deps.db);
      const invoice = await makeInvoice(service.deps.db, workspace.id, { amountDue: 1_000 });

      const runs = Array.from({ length: 50 }, () => runReconciliation(service.deps, { trigger: 'OPERATOR' }));
      // While they are in progress the process still serves money requests.
      const served = await capture(service, token, { invoiceId: invoice.id });
      expect(served.errors).toBeUndefined();
      const finished = await Promise.all(runs);
      expect(new Set(finished.map((run) => run.id)).size).toBe(1);

      // Another process (another connection pool) asking while a run is RUNNING gets that run at once.
      const other = connectTo(service.database.url);
      try {
        const [running] = await other.db.insert(reconciliationRuns).values({ trigger: 'SCHEDULE' }).returning();
        const answered = await runReconciliation(service.deps, { trigger: 'OPERATOR' });
        expect(answered.id).toBe(running!.id);
        const [row] = await other.db.select({ n: count() }).from(reconciliationRuns).where(eq(reconciliationRuns.status, 'RUNNING'));
        expect(row!.n).toBe(1);
        await other.db.update(reconciliationRuns).set({ status: 'SUCCEEDED', finishedAt: new Date() }).where(eq(reconciliationRuns.id, running!.id));
      } finally {
        await other.close();
      }
    } finally {
      await service.close();
    }
  });
});
