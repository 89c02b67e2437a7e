import { and, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { useBillingService } from '../support/billing-fixture.js';
import { invoices, invoiceTimelineEvents, paymentAttempts, reconciliationMismatches } from '../../src/db/schema/index.js';
import { hashRequest } from '../../src/domain/ledger/idempotency.js';
import { recordCapturedTotal } from '../../src/domain/ledger/record-capture.js';
import { runReconciliation } from '../../src/domain/reconciliation/reconcile.js';
import { makeInvoice } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { capture, syntheticGateway } from '../support/payments.js';

const billing = useBillingService({
    BILLING_ROLLOUT_STAGE: 'GENERAL',
    PENDING_ATTEMPT_GRACE_SECONDS: '0',
    // Nothing settles by itself during the test: the test says when the processor has settled.
    SYNTHETIC_SETTLEMENT_DELAY_MS: String(24 * 3600 * 1000),
  });

const db = () => billing.service.deps.db;
const invoiceRow = async (id: string) => (await db().select().from(invoices).where(eq(invoices.id, id)))[0]!;
const attemptsOf = (invoiceId: string) => db().select().from(paymentAttempts).where(eq(paymentAttempts.invoiceId, invoiceId));

async function capturedInvoice(amountDue: number, amount = amountDue) {
  const invoice = await makeInvoice(db(), billing.workspaceId, { amountDue });
  expect((await capture(billing.service, billing.token, { invoiceId: invoice.id, amount })).errors).toBeUndefined();
  return invoiceRow(invoice.id);
}

describe('reconciliation finds and fixes drift in one run, and a second run changes nothing', () => {
  it('stale attempts, a lost timeline event, missing settlement times and a disagreeing statement', async () => {
    const gateway = syntheticGateway(billing.service);

    // (1) The processor captured but the answer was lost: UNKNOWN.
    const lostAnswer = await makeInvoice(db(), billing.workspaceId, { amountDue: 1_100 });
    gateway.injectFailure({ invoiceId: lostAnswer.id, operation: 'capture', mode: 'timeout_after_success' });
    await capture(billing.service, billing.token, { invoiceId: lostAnswer.id });

    // (2) The processor never saw it, and declines when asked again: UNKNOWN, then FAILED.
    const declinedLater = await makeInvoice(db(), billing.workspaceId, { amountDue: 1_200 });
    gateway.injectFailure({ invoiceId: declinedLater.id, operation: 'capture', mode: 'unavailable' });
    await capture(billing.service, billing.token, { invoiceId: declinedLater.id });
    gateway.injectFailure({ invoiceId: declinedLater.id, operation: 'capture', mode: 'decline' });

    // (3) A crash between the gateway call and the write: a PENDING attempt the processor did capture.
    const crashed = await makeInvoice(db(), billing.workspaceId, { amountDue: 1_300 });
    const [pending] = await db()
      .insert(paymentAttempts)
      .values({
        invoiceId: crashed.id,
        workspaceId: billing.workspaceId,
        kind: 'CAPTURE',
        amount: 1_300,
        currency: 'USD',
        idempotencyKey: 'crash-1',
        requestHash: hashRequest({ crash: 1 }),
        metadata: { finalCapture: true },
        // Long enough ago that its processor call has surely ended.
        createdAt: new Date(Date.now() - 60_000),
      })
      .returning();
    await gateway.capture({ idempotencyKey: pending!.id, invoiceId: crashed.id, paymentIntentId: crashed.paymentIntentId, amount: 1_300, currency: 'USD', finalCapture: true });

    // (4) A timeline event lost (written around the append-only trigger).
    const lostTimeline = await capturedInvoice(1_400);
    await db().transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL session_replication_role = replica`);
      await tx.delete(invoiceTimelineEvents).where(and(eq(invoiceTimelineEvents.invoiceId, lostTimeline.id), eq(invoiceTimelineEvents.type, 'CAPTURE_SUCCEEDED')));
    });

    // (5) A settled payment whose settled_at was cleared, and (6) one the processor captured more of than we know.
    const clearedSettlement = await capturedInvoice(1_500);
    const processorHoldsMore = await capturedInvoice(1_600, 1_000);
    await gateway.capture({ idempotencyKey: 'outside-the-ledger', invoiceId: processorHoldsMore.id, paymentIntentId: processorHoldsMore.paymentIntentId, amount: 200, currency: 'USD', finalCapture: false });
    for (const invoice of [lostAnswer, crashed, lostTimeline, clearedSettlement, processorHoldsMore]) await gateway.markSettled(invoice.paymentIntentId!);

    // (7) The ledger holds money the processor does not (a line written by a mistaken source): only a mismatch.
    const ledgerHoldsMore = await capturedInvoice(1_700, 1_000);
    await db().transaction(async (tx) => {
      const [locked] = await tx.select().from(invoices).where(eq(invoices.id, ledgerHoldsMore.id)).for('update');
      await recordCapturedTotal({ tx, jobs: billing.service.deps.jobs, source: 'SYSTEM' }, locked!, {
        paymentIntentId: locked!.paymentIntentId!,
        chargeId: 'ch_mistaken',
        capturedTotal: 1_700,
        currency: 'USD',
        capturedAt: null,
      });
    });
    await db().update(invoices).set({ settledAt: null }).where(eq(invoices.id, clearedSettlement.id));

    const first = await runReconciliation(billing.service.deps, { trigger: 'COMMAND' });
    expect(first).toMatchObject({ status: 'SUCCEEDED', attemptsSettled: 3, timelineEventsBackfilled: 1, error: null });

    expect(await attemptsOf(lostAnswer.id)).toMatchObject([{ status: 'SUCCEEDED' }]);
    expect((await invoiceRow(lostAnswer.id)).amountCaptured).toBe(1_100);
    expect(await attemptsOf(declinedLater.id)).toMatchObject([{ status: 'FAILED' }]);
    expect((await invoiceRow(declinedLater.id)).amountCaptured).toBe(0);
    expect(await attemptsOf(crashed.id)).toMatchObject([{ status: 'SUCCEEDED' }]);
    expect((await invoiceRow(crashed.id)).amountCaptured).toBe(1_300);

    const restored = await db().select().from(invoiceTimelineEvents).where(eq(invoiceTimelineEvents.invoiceId, lostTimeline.id));
    expect(restored).toContainEqual(expect.objectContaining({ type: 'CAPTURE_SUCCEEDED', source: 'RECONCILIATION' }));
    expect((await invoiceRow(clearedSettlement.id)).settledAt).toBeInstanceOf(Date);
    for (const invoice of [lostAnswer, crashed, lostTimeline]) expect((await invoiceRow(invoice.id)).settledAt).toBeInstanceOf(Date);
    // The two attempts settled in step 1 learnt their settlement time from the same lookup.
    expect(first.settlementsBackfilled).toBe(3);

    // The processor's extra capture is repaired into the ledger from the processor's side…
    expect((await invoiceRow(processorHoldsMore.id)).amountCaptured).toBe(1_200);
    expect(first.paymentsRepaired).toBe(1);
    // …and what the ledger holds beyond the processor is a mismatch, not repaired.
    const found = await db().select().from(reconciliationMismatches).where(eq(reconciliationMismatches.runId, first.id));
    expect(found.map(({ invoiceId, field, expected, found }) => ({ invoiceId, field, expected, found }))).toEqual([
      { invoiceId: ledgerHoldsMore.id, field: 'amount_captured', expected: 1_700, found: 1_000 },
    ]);
    expect(first.mismatchesFound).toBe(1);
    await expectLedgerConsistent(db());

    const before = await db().select().from(invoices).orderBy(invoices.id);
    const second = await runReconciliation(billing.service.deps, { trigger: 'COMMAND' });
    expect(second).toMatchObject({ status: 'SUCCEEDED', attemptsSettled: 0, timelineEventsBackfilled: 0, settlementsBackfilled: 0, paymentsRepaired: 0 });
    // The open mismatch is re-checked and still reported, once (no second row while it stays open).
    expect(second).toMatchObject({ mismatchesFound: 1 });
    expect(await db().select().from(reconciliationMismatches).where(eq(reconciliationMismatches.runId, second.id))).toEqual([]);
    expect(await db().select().from(invoices).orderBy(invoices.id)).toEqual(before);
    await expectLedgerConsistent(db());
  });
});
