import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { useBillingService } from '../support/billing-fixture.js';
import { invoiceTimelineEvents, paymentAttempts } from '../../src/db/schema/index.js';
import { makeInvoice } from '../support/factories.js';
import { errorCodes } from '../support/graphql.js';
import { ledgerSnapshot } from '../support/ledger.js';
import { capture, refund, syntheticGateway } from '../support/payments.js';

const billing = useBillingService({ BILLING_ROLLOUT_STAGE: 'GENERAL' });

const attemptsOf = (invoiceId: string) => billing.service.deps.db.select().from(paymentAttempts).where(eq(paymentAttempts.invoiceId, invoiceId));
const timelineTypes = async (invoiceId: string) =>
  (await billing.service.deps.db.select().from(invoiceTimelineEvents).where(eq(invoiceTimelineEvents.invoiceId, invoiceId))).map((event) => event.type).sort();

describe('gateway declines', () => {
  it('a declined capture leaves a failed attempt and CAPTURE_FAILED, and moves no money', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 1_000 });
    syntheticGateway(billing.service).injectFailure({ invoiceId: invoice.id, operation: 'capture', mode: 'decline' });
    const response = await capture(billing.service, billing.token, { invoiceId: invoice.id });
    expect(errorCodes(response)).toEqual(['GATEWAY_DECLINED']);
    const snapshot = await ledgerSnapshot(billing.service.deps.db, invoice.id);
    expect(snapshot.invoice).toMatchObject({ amountCaptured: 0, status: 'OPEN', externalProcessorId: null });
    expect(snapshot.adjustments).toBe(0);
    expect(await attemptsOf(invoice.id)).toMatchObject([{ status: 'FAILED', errorCode: 'card_declined' }]);
    expect(await timelineTypes(invoice.id)).toEqual(['CAPTURE_FAILED', 'CAPTURE_REQUESTED']);
  });

  it('a declined refund leaves REFUND_FAILED and the refunded total untouched', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 1_000 });
    expect((await capture(billing.service, billing.token, { invoiceId: invoice.id })).errors).toBeUndefined();
    syntheticGateway(billing.service).injectFailure({ invoiceId: invoice.id, operation: 'refund', mode: 'decline' });
    expect(errorCodes(await refund(billing.service, billing.token, { invoiceId: invoice.id, reason: 'OTHER' }))).toEqual(['GATEWAY_DECLINED']);
    const snapshot = await ledgerSnapshot(billing.service.deps.db, invoice.id);
    expect(snapshot.invoice!.amountRefunded).toBe(0);
    expect(snapshot.refunds).toBe(0);
    expect(await timelineTypes(invoice.id)).toContain('REFUND_FAILED');
  });
});

describe('gateway timeouts', () => {
  it('an unanswered capture stays reserved (UNKNOWN) so nothing can capture the same money twice', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 1_000 });
    syntheticGateway(billing.service).injectFailure({ invoiceId: invoice.id, operation: 'capture', mode: 'unavailable' });
    expect(errorCodes(await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 600 }))).toEqual(['GATEWAY_UNAVAILABLE']);
    expect(await attemptsOf(invoice.id)).toMatchObject([{ status: 'UNKNOWN', amount: 600 }]);
    // 600 is reserved until the attempt is settled: only 400 can be captured meanwhile.
    expect(errorCodes(await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 401 }))).toEqual(['AMOUNT_EXCEEDS_BALANCE']);
    expect((await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 400 })).errors).toBeUndefined();
  });

  it('a capture whose answer was lost succeeds exactly once when retried with its key', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 1_000 });
    syntheticGateway(billing.service).injectFailure({ invoiceId: invoice.id, operation: 'capture', mode: 'timeout_after_success' });
    const idempotencyKey = randomUUID();
    expect(errorCodes(await capture(billing.service, billing.token, { invoiceId: invoice.id, idempotencyKey }))).toEqual(['GATEWAY_UNAVAILABLE']);
    const retried = await capture(billing.service, billing.token, { invoiceId: invoice.id, idempotencyKey });
    expect(retried.errors).toBeUndefined();
    expect(retried.data.captureInvoice.invoice.amountCaptured).toBe(1_000);
    const snapshot = await ledgerSnapshot(billing.service.deps.db, invoice.id);
    expect(snapshot.adjustments).toBe(1);
    expect(await attemptsOf(invoice.id)).toMatchObject([{ status: 'SUCCEEDED' }]);
  });
});
