import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { capture } from '../support/payments.js';
import { startTestService } from '../support/service.js';

/** Statements this connection has prepared: the query asking counts itself when statements are prepared. */
const preparedOnThisConnection = async (db: Awaited<ReturnType<typeof startTestService>>['deps']['db']) =>
  Number((await db.execute<{ n: string }>(sql`SELECT count(*) AS n FROM pg_prepared_statements`))[0]!.n);

describe('DB_PREPARED_STATEMENTS', () => {
  it.each([
    ['true (the default)', {}, true],
    ['false (behind a transaction-mode pooler)', { DB_PREPARED_STATEMENTS: 'false' }, false],
  ])('%s: statements are prepared or not, and money moves the same', async (_label, environment, prepared) => {
    const service = await startTestService({ BILLING_ROLLOUT_STAGE: 'GENERAL', ...environment });
    try {
      const workspace = await makeWorkspace(service.deps.db);
      const invoice = await makeInvoice(service.deps.db, workspace.id, { amountDue: 900 });
      const response = await capture(service, await makeOperatorToken(service.deps.db), { invoiceId: invoice.id });
      expect(response.errors).toBeUndefined();
      expect(response.data.captureInvoice.invoice.amountCaptured).toBe(900);
      const count = await preparedOnThisConnection(service.deps.db);
      if (prepared) expect(count).toBeGreaterThan(0);
      else expect(count).toBe(0);
    } finally {
      await service.close();
    }
  });
});
