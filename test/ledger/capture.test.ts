import { describe, expect, it } from 'vitest';
import { useBillingService } from '../support/billing-fixture.js';
import { makeInvoice } from '../support/factories.js';
import { graphql } from '../support/graphql.js';
import { capture } from '../support/payments.js';

const billing = useBillingService({ BILLING_ROLLOUT_STAGE: 'PILOT', SYNTHETIC_SETTLEMENT_DELAY_MS: '0' });

describe('captureInvoice', () => {
  it('captures all that remains when no amount is given', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 12_345 });
    const response = await capture(billing.service, billing.token, { invoiceId: invoice.id });
    expect(response.errors).toBeUndefined();
    const result = response.data.captureInvoice;
    expect(result.invoice).toMatchObject({ status: 'CAPTURED', amountCaptured: 12_345, amountRemaining: 0, paymentIntentId: invoice.paymentIntentId });
    expect(result.invoice.externalProcessorId).toMatch(/^ch_/);
    expect(result.invoice.capturedAt).not.toBeNull();
    expect(result.invoice.settledAt).not.toBeNull(); // the synthetic gateway settles at once with no delay
    expect(result.attempt).toMatchObject({ kind: 'CAPTURE', status: 'SUCCEEDED', amount: 12_345 });
    expect(result.adjustment).toMatchObject({
      kind: 'CAPTURE',
      amount: 12_345,
      currency: 'USD',
      source: 'API',
      paymentAttemptId: result.attempt.id,
      processorObjectId: result.invoice.externalProcessorId,
    });
  });

  it('adds up partial captures until the invoice is fully captured, with a timeline explaining every cent', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 10_000, currency: 'JPY' });
    const statuses = [];
    for (const amount of [2_500, 2_500, 5_000]) {
      const response = await capture(billing.service, billing.token, { invoiceId: invoice.id, amount });
      expect(response.errors).toBeUndefined();
      statuses.push(response.data.captureInvoice.invoice.status);
    }
    expect(statuses).toEqual(['PARTIALLY_CAPTURED', 'PARTIALLY_CAPTURED', 'CAPTURED']);

    const read = await graphql(
      billing.service.url,
      `query ($id: UUID!) { invoice(id: $id) { amountCaptured adjustments { kind amount } paymentAttempts { kind status amount } timeline { type data } } }`,
      { id: invoice.id },
      billing.token,
    );
    const { amountCaptured, adjustments, paymentAttempts, timeline } = read.data.invoice;
    expect(amountCaptured).toBe(10_000);
    expect(paymentAttempts).toEqual([2_500, 2_500, 5_000].map((amount) => ({ kind: 'CAPTURE', status: 'SUCCEEDED', amount })));
    expect(adjustments.map((line: any) => line.amount)).toEqual([2_500, 2_500, 5_000]);
    const types = timeline.map((event: any) => event.type);
    expect(types.filter((type: string) => type === 'CAPTURE_REQUESTED')).toHaveLength(3);
    expect(types.filter((type: string) => type === 'CAPTURE_SUCCEEDED')).toHaveLength(3);
    expect(
      timeline.filter((event: any) => event.type === 'CAPTURE_SUCCEEDED').reduce((sum: number, event: any) => sum + event.data.amount, 0),
    ).toBe(10_000);
  });

  it('refuses a capture once the invoice is fully captured', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 500 });
    expect((await capture(billing.service, billing.token, { invoiceId: invoice.id })).errors).toBeUndefined();
    const again = await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 1 });
    expect(again.errors?.[0]?.extensions?.code).toBe('INVOICE_NOT_CAPTURABLE');
  });
});
