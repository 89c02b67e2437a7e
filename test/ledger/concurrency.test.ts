import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invoices } from '../../src/db/schema/index.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { errorCodes } from '../support/graphql.js';
import { expectLedgerConsistent } from '../support/ledger.js';
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

const invoiceRow = async (id: string) => (await service.deps.db.select().from(invoices).where(eq(invoices.id, id)))[0]!;

describe('concurrent money movements', () => {
  it('50 concurrent partial captures worth more than is due never capture more than due', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 10_000 });
    // A slow processor keeps many attempts in flight at once, which is where double-capture bugs live.
    syntheticGateway(service).latencyMs = 20;
    try {
      const responses = await Promise.all(Array.from({ length: 50 }, () => capture(service, token, { invoiceId: invoice.id, amount: 700 })));
      const succeeded = responses.filter((response) => !response.errors);
      for (const response of responses.filter((response) => response.errors)) {
        expect(errorCodes(response)).toEqual(['AMOUNT_EXCEEDS_BALANCE']);
      }
      const row = await invoiceRow(invoice.id);
      expect(succeeded).toHaveLength(Math.floor(10_000 / 700));
      expect(row.amountCaptured).toBe(succeeded.length * 700);
      expect(row.amountCaptured).toBeLessThanOrEqual(row.amountDue);
    } finally {
      syntheticGateway(service).latencyMs = 0;
    }
  });

  it('50 concurrent partial refunds worth more than was captured never refund more than captured', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 9_000 });
    expect((await capture(service, token, { invoiceId: invoice.id, amount: 6_000 })).errors).toBeUndefined();
    syntheticGateway(service).latencyMs = 20;
    try {
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => refund(service, token, { invoiceId: invoice.id, amount: 450, reason: 'REQUESTED_BY_CUSTOMER' })),
      );
      const succeeded = responses.filter((response) => !response.errors);
      for (const response of responses.filter((response) => response.errors)) {
        expect(errorCodes(response)).toEqual(['AMOUNT_EXCEEDS_BALANCE']);
      }
      const row = await invoiceRow(invoice.id);
      expect(succeeded).toHaveLength(Math.floor(6_000 / 450));
      expect(row.amountRefunded).toBe(succeeded.length * 450);
      expect(row.amountRefunded).toBeLessThanOrEqual(row.amountCaptured);
    } finally {
      syntheticGateway(service).latencyMs = 0;
    }
  });
});
