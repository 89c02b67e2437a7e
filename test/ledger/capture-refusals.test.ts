import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invoices } from '../../src/db/schema/index.js';
import { setRolloutStage } from '../../src/domain/settings/rollout-stage.js';
import { makeInvoice, makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { errorCodes } from '../support/graphql.js';
import { expectLedgerConsistent, ledgerSnapshot } from '../support/ledger.js';
import { capture } from '../support/payments.js';
import { startTestService, type TestService } from '../support/service.js';

let service: TestService;
let operator: string;
let pilotWorkspaceId: string;

beforeAll(async () => {
  service = await startTestService({ BILLING_ROLLOUT_STAGE: 'PILOT' });
  operator = await makeOperatorToken(service.deps.db);
  pilotWorkspaceId = (await makeWorkspace(service.deps.db, { billingPilot: true })).id;
});
afterEach(() => expectLedgerConsistent(service.deps.db));
afterAll(() => service.close());

/** Runs a refused capture and checks that nothing about the invoice changed. */
async function expectRefused(invoiceId: string, input: Record<string, unknown>, code: string, token = operator) {
  const before = await ledgerSnapshot(service.deps.db, invoiceId);
  const response = await capture(service, token, { invoiceId, ...input });
  expect(errorCodes(response)).toEqual([code]);
  expect(await ledgerSnapshot(service.deps.db, invoiceId)).toEqual(before);
}

describe('refused captures change nothing', () => {
  it('more than remains → AMOUNT_EXCEEDS_BALANCE, with what remains', async () => {
    const invoice = await makeInvoice(service.deps.db, pilotWorkspaceId, { amountDue: 1_000 });
    expect((await capture(service, operator, { invoiceId: invoice.id, amount: 400 })).errors).toBeUndefined();
    await expectRefused(invoice.id, { amount: 601 }, 'AMOUNT_EXCEEDS_BALANCE');
    const response = await capture(service, operator, { invoiceId: invoice.id, amount: 601 });
    expect(response.errors?.[0]?.extensions?.details).toMatchObject({ remaining: 600, requested: 601 });
  });

  it.each([
    ['zero', 0],
    ['negative', -100],
    ['fractional', 10.5],
    ['above 2^53', 2 ** 53 + 2],
  ])('a %s amount → BAD_USER_INPUT', async (_label, amount) => {
    const invoice = await makeInvoice(service.deps.db, pilotWorkspaceId);
    await expectRefused(invoice.id, { amount }, 'BAD_USER_INPUT');
  });

  it('a void invoice → INVOICE_NOT_CAPTURABLE', async () => {
    const invoice = await makeInvoice(service.deps.db, pilotWorkspaceId, { voidedAt: new Date() });
    await expectRefused(invoice.id, {}, 'INVOICE_NOT_CAPTURABLE');
  });

  it('an unknown invoice → NOT_FOUND', async () => {
    const response = await capture(service, operator, { invoiceId: '00000000-0000-4000-8000-00000000abcd' });
    expect(errorCodes(response)).toEqual(['NOT_FOUND']);
  });

  it("a service token of another workspace → NOT_FOUND (the invoice's existence is not revealed)", async () => {
    const invoice = await makeInvoice(service.deps.db, pilotWorkspaceId);
    const otherWorkspace = await makeWorkspace(service.deps.db, { billingPilot: true });
    await expectRefused(invoice.id, {}, 'NOT_FOUND', await makeServiceToken(service.deps.db, otherWorkspace.id));
  });

  it('a service token of its own workspace may capture', async () => {
    const invoice = await makeInvoice(service.deps.db, pilotWorkspaceId, { amountDue: 700 });
    const response = await capture(service, await makeServiceToken(service.deps.db, pilotWorkspaceId), { invoiceId: invoice.id });
    expect(response.errors).toBeUndefined();
    expect(response.data.captureInvoice.invoice.amountCaptured).toBe(700);
  });

  it('no token or a wrong token → UNAUTHENTICATED', async () => {
    const invoice = await makeInvoice(service.deps.db, pilotWorkspaceId);
    await expectRefused(invoice.id, {}, 'UNAUTHENTICATED', '');
    await expectRefused(invoice.id, {}, 'UNAUTHENTICATED', 'blt_not-a-real-token');
  });

  it('a malformed invoice id → BAD_USER_INPUT', async () => {
    const response = await capture(service, operator, { invoiceId: 'INV-1' });
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('rollout stage', () => {
  it('PILOT refuses workspaces outside the pilot and allows pilot ones', async () => {
    const outside = await makeWorkspace(service.deps.db, { billingPilot: false });
    const invoice = await makeInvoice(service.deps.db, outside.id);
    await expectRefused(invoice.id, {}, 'ROLLOUT_BLOCKED');
  });

  it('OFF refuses everybody; GENERAL allows everybody; no restart needed', async () => {
    const viewer = { tokenId: '00000000-0000-4000-8000-000000000001', role: 'OPERATOR' as const };
    const outside = await makeWorkspace(service.deps.db, { billingPilot: false });
    const pilotInvoice = await makeInvoice(service.deps.db, pilotWorkspaceId);
    const outsideInvoice = await makeInvoice(service.deps.db, outside.id);
    try {
      await setRolloutStage(service.deps.db, service.deps.config, viewer, 'OFF');
      await expectRefused(pilotInvoice.id, {}, 'ROLLOUT_BLOCKED');
      await setRolloutStage(service.deps.db, service.deps.config, viewer, 'GENERAL');
      expect((await capture(service, operator, { invoiceId: outsideInvoice.id })).errors).toBeUndefined();
      const [captured] = await service.deps.db.select().from(invoices).where(eq(invoices.id, outsideInvoice.id));
      expect(captured!.status).toBe('CAPTURED');
    } finally {
      await setRolloutStage(service.deps.db, service.deps.config, viewer, 'PILOT');
    }
  });
});
