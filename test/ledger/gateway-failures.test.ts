import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invoiceTimelineEvents, paymentAttempts } from '../../src/db/schema/index.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { errorCodes } from '../support/graphql.js';
import { expectLedgerConsistent, ledgerSnapshot } from '../support/ledger.js';
import { capture, refund, syntheticGateway } from '../support/payments.js';
import { startTestService, type TestService } from '../support/service.js';

let service: TestService;
let token: string;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ BILLING_ROLLOUT_STAGE: 'GENERAL' });
  token = await makeOperatorToken(service.deps.db);
  workspaceId = (await makeWorkspace(service.deps.db)).id;
});
afterEach(() => expectLedgerConsistent(service.deps.db));
afterAll(() => service.close());

const attemptsOf = (invoiceId: string) => service.deps.db.select().from(paymentAttempts).where(eq(paymentAttempts.invoiceId, invoiceId));
const timelineTypes = async (invoiceId: string) =>
  (await service.deps.db.select().from(invoiceTimelineEvents).where(eq(invoiceTimelineEvents.invoiceId, invoiceId))).map((event) => event.type).sort();

describe('gateway declines', () => {
  it('a declined capture leaves a failed attempt and CAPTURE_FAILED, and moves no money', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 1_000 });
    syntheticGateway(service).injectFailure({ invoiceId: invoice.id, operation: 'capture', mode: 'decline' });
    const response = await capture(service, token, { invoiceId: invoice.id });
    expect(errorCodes(response)).toEqual(['GATEWAY_DECLINED']);
    const snapshot = await ledgerSnapshot(service.deps.db, invoice.id);
    expect(snapshot.invoice).toMatchObject({ amountCaptured: 0, status: 'OPEN', externalProcessorId: null });
    expect(snapshot.adjustments).toBe(0);
    expect(await attemptsOf(invoice.id)).toMatchObject([{ status: 'FAILED', errorCode: 'card_declined' }]);
    expect(await timelineTypes(invoice.id)).toEqual(['CAPTURE_FAILED', 'CAPTURE_REQUESTED']);
  });

  it('a declined refund leaves REFUND_FAILED and the refunded total untouched', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 1_000 });
    expect((await capture(service, token, { invoiceId: invoice.id })).errors).toBeUndefined();
    syntheticGateway(service).injectFailure({ invoiceId: invoice.id, operation: 'refund', mode: 'decline' });
    expect(errorCodes(await refund(service, token, { invoiceId: invoice.id, reason: 'OTHER' }))).toEqual(['GATEWAY_DECLINED']);
    const snapshot = await ledgerSnapshot(service.deps.db, invoice.id);
    expect(snapshot.invoice!.amountRefunded).toBe(0);
    expect(snapshot.refunds).toBe(0);
    expect(await timelineTypes(invoice.id)).toContain('REFUND_FAILED');
  });
});

describe('gateway timeouts', () => {
  it('an unanswered capture stays reserved (UNKNOWN) so nothing can capture the same money twice', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 1_000 });
    syntheticGateway(service).injectFailure({ invoiceId: invoice.id, operation: 'capture', mode: 'unavailable' });
    expect(errorCodes(await capture(service, token, { invoiceId: invoice.id, amount: 600 }))).toEqual(['GATEWAY_UNAVAILABLE']);
    expect(await attemptsOf(invoice.id)).toMatchObject([{ status: 'UNKNOWN', amount: 600 }]);
    // 600 is reserved until the attempt is settled: only 400 can be captured meanwhile.
    expect(errorCodes(await capture(service, token, { invoiceId: invoice.id, amount: 401 }))).toEqual(['AMOUNT_EXCEEDS_BALANCE']);
    expect((await capture(service, token, { invoiceId: invoice.id, amount: 400 })).errors).toBeUndefined();
  });

  it('a capture whose answer was lost succeeds exactly once when retried with its key', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 1_000 });
    syntheticGateway(service).injectFailure({ invoiceId: invoice.id, operation: 'capture', mode: 'timeout_after_success' });
    const idempotencyKey = randomUUID();
    expect(errorCodes(await capture(service, token, { invoiceId: invoice.id, idempotencyKey }))).toEqual(['GATEWAY_UNAVAILABLE']);
    const retried = await capture(service, token, { invoiceId: invoice.id, idempotencyKey });
    expect(retried.errors).toBeUndefined();
    expect(retried.data.captureInvoice.invoice.amountCaptured).toBe(1_000);
    const snapshot = await ledgerSnapshot(service.deps.db, invoice.id);
    expect(snapshot.adjustments).toBe(1);
    expect(await attemptsOf(invoice.id)).toMatchObject([{ status: 'SUCCEEDED' }]);
  });
});
