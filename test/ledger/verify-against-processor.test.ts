import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { invoices } from '../../src/db/schema/index.js';
import { recordCapturedTotal } from '../../src/domain/ledger/record-capture.js';
import { runReconciliation } from '../../src/domain/reconciliation/reconcile.js';
import { verifyAgainstProcessor } from '../../src/domain/ledger/verify-against-processor.js';
import { useBillingService } from '../support/billing-fixture.js';
import { makeInvoice } from '../support/factories.js';
import { capture, refund, syntheticGateway } from '../support/payments.js';

const billing = useBillingService({ BILLING_ROLLOUT_STAGE: 'GENERAL' });
const db = () => billing.service.deps.db;
const againstProcessor = async () => verifyAgainstProcessor(db(), await syntheticGateway(billing.service).paymentTotals());

describe('ledger verify: ledger = the synthetic processor, payment by payment', () => {
  it('holds after captures, refunds and a refund made outside the service', async () => {
    const invoice = await makeInvoice(db(), billing.workspaceId, { amountDue: 9_000 });
    expect((await capture(billing.service, billing.token, { invoiceId: invoice.id })).errors).toBeUndefined();
    expect((await refund(billing.service, billing.token, { invoiceId: invoice.id, amount: 1_000, reason: 'OTHER' })).errors).toBeUndefined();
    expect(await againstProcessor()).toEqual([]);

    // Made in the processor's dashboard and not yet heard of: the ledger lags, and verify says so.
    await syntheticGateway(billing.service).refundOutside(invoice.paymentIntentId!, 500);
    expect(await againstProcessor()).toEqual([expect.objectContaining({ rule: 'ledger = processor', invoiceId: invoice.id })]);
    const run = await runReconciliation(billing.service.deps, { trigger: 'COMMAND' });
    expect(run.paymentsRepaired).toBe(1);
    expect(await againstProcessor()).toEqual([]);
  });

  it('finds money the ledger holds that the processor does not', async () => {
    const invoice = await makeInvoice(db(), billing.workspaceId, { amountDue: 4_000 });
    expect((await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 1_000 })).errors).toBeUndefined();
    await db().transaction(async (tx) => {
      const [locked] = await tx.select().from(invoices).where(eq(invoices.id, invoice.id)).for('update');
      await recordCapturedTotal({ tx, jobs: billing.service.deps.jobs, source: 'SYSTEM' }, locked!, {
        paymentIntentId: locked!.paymentIntentId!,
        chargeId: 'ch_mistaken',
        capturedTotal: 1_500,
        currency: 'USD',
        capturedAt: null,
      });
    });
    expect((await againstProcessor()).map((violation) => violation.invoiceId)).toContain(invoice.id);
  });
});
