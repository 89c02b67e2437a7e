import { and, eq, inArray, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { useBillingService } from '../support/billing-fixture.js';
import { invoices, invoiceTimelineEvents, reconciliationRuns } from '../../src/db/schema/index.js';
import { runReconciliation } from '../../src/domain/reconciliation/reconcile.js';
import { makeInvoice, makeServiceToken } from '../support/factories.js';
import { errorCodes, graphql } from '../support/graphql.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { capture, syntheticGateway } from '../support/payments.js';

// A cron that will not fire during the test, so only the runs the test starts do any work.
const CRON = '7 3 1 1 *';
const billing = useBillingService({
    BILLING_ROLLOUT_STAGE: 'GENERAL',
    PENDING_ATTEMPT_GRACE_SECONDS: '0',
    SYNTHETIC_SETTLEMENT_DELAY_MS: String(24 * 3600 * 1000),
    RECONCILIATION_CRON: CRON,
  });

const db = () => billing.service.deps.db;

/** Captured and settled at the processor, with its CAPTURE_SUCCEEDED timeline event lost. */
async function driftedInvoice() {
  const invoice = await makeInvoice(db(), billing.workspaceId, { amountDue: 2_000 });
  expect((await capture(billing.service, billing.token, { invoiceId: invoice.id })).errors).toBeUndefined();
  await syntheticGateway(billing.service).markSettled(invoice.paymentIntentId!);
  await db().transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL session_replication_role = replica`);
    await tx.delete(invoiceTimelineEvents).where(and(eq(invoiceTimelineEvents.invoiceId, invoice.id), eq(invoiceTimelineEvents.type, 'CAPTURE_SUCCEEDED')));
  });
  return invoice;
}

describe('reconciliation runs', () => {
  it('two runs started at once make one run’s changes', async () => {
    const drifted = [await driftedInvoice(), await driftedInvoice()];
    const [a, b] = await Promise.all([
      runReconciliation(billing.service.deps, { trigger: 'OPERATOR' }),
      runReconciliation(billing.service.deps, { trigger: 'SCHEDULE' }),
    ]);
    const runs = a!.id === b!.id ? [a!] : [a!, b!];
    const total = (key: 'timelineEventsBackfilled' | 'settlementsBackfilled') => runs.reduce((sum, run) => sum + run[key], 0);
    expect(total('timelineEventsBackfilled')).toBe(2);
    expect(total('settlementsBackfilled')).toBe(2);
    for (const invoice of drifted) {
      const events = await db().select().from(invoiceTimelineEvents).where(eq(invoiceTimelineEvents.invoiceId, invoice.id));
      expect(events.filter((event) => event.type === 'CAPTURE_SUCCEEDED')).toHaveLength(1);
      expect(events.filter((event) => event.type === 'PAYMENT_SETTLED')).toHaveLength(1);
    }
    await expectLedgerConsistent(db());
  });

  it('a run that fails half-way is recorded as FAILED, and the next run finishes the work', async () => {
    const invoice = await driftedInvoice();
    const gateway = billing.service.deps.gateway;
    const getPayment = gateway.getPayment.bind(gateway);
    // The processor's API breaks during step 3 (settlement times), after step 2 has done its part.
    gateway.getPayment = async () => {
      throw new Error('processor API returned 500');
    };
    let failed;
    try {
      failed = await runReconciliation(billing.service.deps, { trigger: 'COMMAND' });
    } finally {
      gateway.getPayment = getPayment;
    }
    expect(failed).toMatchObject({ status: 'FAILED', error: 'processor API returned 500', timelineEventsBackfilled: 1, settlementsBackfilled: 0 });
    expect((await db().select().from(invoices).where(eq(invoices.id, invoice.id)))[0]!.settledAt).toBeNull();

    const next = await runReconciliation(billing.service.deps, { trigger: 'COMMAND' });
    expect(next).toMatchObject({ status: 'SUCCEEDED', settlementsBackfilled: 1, timelineEventsBackfilled: 0 });
    expect((await db().select().from(invoices).where(eq(invoices.id, invoice.id)))[0]!.settledAt).toBeInstanceOf(Date);
  });

  it('keeps RECONCILIATION_LOOKUPS_IN_FLIGHT processor lookups in flight at once, and repairs every payment', async () => {
    const refunded: string[] = [];
    for (let n = 0; n < 10; n++) {
      const invoice = await makeInvoice(db(), billing.workspaceId, { amountDue: 2_000 });
      expect((await capture(billing.service, billing.token, { invoiceId: invoice.id })).errors).toBeUndefined();
      await syntheticGateway(billing.service).refundOutside(invoice.paymentIntentId!, 500);
      refunded.push(invoice.id);
    }
    const gateway = billing.service.deps.gateway;
    const getPayment = gateway.getPayment.bind(gateway);
    let inFlight = 0;
    let most = 0;
    gateway.getPayment = async (id) => {
      most = Math.max(most, ++inFlight);
      try {
        // Long enough for the next lookups to start, if the run starts them before this one ends.
        await new Promise((resolve) => setTimeout(resolve, 20));
        return await getPayment(id);
      } finally {
        inFlight--;
      }
    };
    let run;
    try {
      run = await runReconciliation({ ...billing.service.deps, config: { ...billing.service.deps.config, reconciliationLookupsInFlight: 4 } }, { trigger: 'COMMAND' });
    } finally {
      gateway.getPayment = getPayment;
    }
    expect(run).toMatchObject({ status: 'SUCCEEDED' });
    expect(most).toBe(4);
    const rows = await db().select({ refunded: invoices.amountRefunded }).from(invoices).where(inArray(invoices.id, refunded));
    expect(rows.map((row) => row.refunded)).toEqual(refunded.map(() => 500));
    await expectLedgerConsistent(db());
  });

  it('the schedule is registered with the configured cron, and a job on the queue runs a reconciliation', async () => {
    const [schedule] = await db().execute<{ cron: string; options: { tz?: string } }>(
      sql`SELECT cron, options FROM pgboss.schedule WHERE name = 'reconciliation'`,
    );
    expect(schedule).toMatchObject({ cron: CRON, options: { tz: 'UTC' } });

    const runsBefore = (await db().select().from(reconciliationRuns).where(eq(reconciliationRuns.trigger, 'SCHEDULE'))).length;
    await billing.service.deps.jobs.enqueue(db(), 'reconciliation', { trigger: 'SCHEDULE' });
    await expect
      .poll(async () => (await db().select().from(reconciliationRuns).where(and(eq(reconciliationRuns.trigger, 'SCHEDULE'), eq(reconciliationRuns.status, 'SUCCEEDED')))).length, {
        timeout: 15_000,
        interval: 200,
      })
      .toBeGreaterThan(runsBefore);
  });

  it('operators run it and read past runs over GraphQL; billing.service tokens may not', async () => {
    const run = await graphql(billing.service.url, `mutation { runReconciliation { id status trigger attemptsSettled mismatchesFound } }`, {}, billing.token);
    expect(run.data.runReconciliation).toMatchObject({ status: 'SUCCEEDED', trigger: 'OPERATOR' });
    const listed = await graphql(billing.service.url, `{ reconciliationRuns(first: 50) { id status mismatches { invoiceId field expected found } } }`, {}, billing.token);
    expect(listed.data.reconciliationRuns[0]).toMatchObject({ id: run.data.runReconciliation.id, mismatches: [] });

    const serviceToken = await makeServiceToken(db(), billing.workspaceId);
    expect(errorCodes(await graphql(billing.service.url, `mutation { runReconciliation { id } }`, {}, serviceToken))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await graphql(billing.service.url, `{ reconciliationRuns { id } }`, {}, serviceToken))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await graphql(billing.service.url, `mutation { runReconciliation { id } }`))).toEqual(['UNAUTHENTICATED']);
  });
});
