import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { useBillingService } from '../support/billing-fixture.js';
import { invoices } from '../../src/db/schema/index.js';
import { makeInvoice } from '../support/factories.js';
import { errorCodes } from '../support/graphql.js';
import { capture, refund, syntheticGateway } from '../support/payments.js';

const billing = useBillingService({ BILLING_ROLLOUT_STAGE: 'GENERAL' });

const invoiceRow = async (id: string) => (await billing.service.deps.db.select().from(invoices).where(eq(invoices.id, id)))[0]!;

describe('concurrent money movements', () => {
  it('50 concurrent partial captures worth more than is due never capture more than due', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 10_000 });
    // A slow processor keeps many attempts in flight at once, which is where double-capture bugs live.
    syntheticGateway(billing.service).latencyMs = 20;
    try {
      const responses = await Promise.all(Array.from({ length: 50 }, () => capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 700 })));
      const succeeded = responses.filter((response) => !response.errors);
      for (const response of responses.filter((response) => response.errors)) {
        expect(errorCodes(response)).toEqual(['AMOUNT_EXCEEDS_BALANCE']);
      }
      const row = await invoiceRow(invoice.id);
      expect(succeeded).toHaveLength(Math.floor(10_000 / 700));
      expect(row.amountCaptured).toBe(succeeded.length * 700);
      expect(row.amountCaptured).toBeLessThanOrEqual(row.amountDue);
    } finally {
      syntheticGateway(billing.service).latencyMs = 0;
    }
  });

  it('50 concurrent partial refunds worth more than was captured never refund more than captured', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 9_000 });
    expect((await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 6_000 })).errors).toBeUndefined();
    syntheticGateway(billing.service).latencyMs = 20;
    try {
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => refund(billing.service, billing.token, { invoiceId: invoice.id, amount: 450, reason: 'REQUESTED_BY_CUSTOMER' })),
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
      syntheticGateway(billing.service).latencyMs = 0;
    }
  });
});
