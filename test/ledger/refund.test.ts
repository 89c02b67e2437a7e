import { describe, expect, it } from 'vitest';
import { useBillingService } from '../support/billing-fixture.js';
import { makeInvoice } from '../support/factories.js';
import { errorCodes } from '../support/graphql.js';
import { ledgerSnapshot } from '../support/ledger.js';
import { capture, refund } from '../support/payments.js';

const billing = useBillingService({ BILLING_ROLLOUT_STAGE: 'GENERAL' });

async function capturedInvoice(amountDue = 10_000, captured = amountDue) {
  const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue });
  const response = await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: captured });
  expect(response.errors).toBeUndefined();
  return invoice;
}

describe('refundInvoice', () => {
  it('refunds part of a capture: a negative ledger line with the reason, and a refund record', async () => {
    const invoice = await capturedInvoice(10_000);
    const response = await refund(billing.service, billing.token, { invoiceId: invoice.id, amount: 3_000, reason: 'REQUESTED_BY_CUSTOMER', note: 'late delivery' });
    expect(response.errors).toBeUndefined();
    const result = response.data.refundInvoice;
    expect(result.invoice).toMatchObject({ status: 'PARTIALLY_REFUNDED', amountCaptured: 10_000, amountRefunded: 3_000 });
    expect(result.adjustment).toMatchObject({ kind: 'REFUND', amount: -3_000, reasonCode: 'REQUESTED_BY_CUSTOMER', note: 'late delivery', source: 'API' });
    expect(result.refund).toMatchObject({ amount: 3_000, reason: 'REQUESTED_BY_CUSTOMER', adjustmentId: result.adjustment.id });
    expect(result.refund.processorRefundId).toMatch(/^re_/);
  });

  it('refunds all that is refundable when no amount is given', async () => {
    const invoice = await capturedInvoice(8_000);
    expect((await refund(billing.service, billing.token, { invoiceId: invoice.id, amount: 1_000, reason: 'GOODWILL' })).errors).toBeUndefined();
    const response = await refund(billing.service, billing.token, { invoiceId: invoice.id, reason: 'duplicate' });
    expect(response.errors).toBeUndefined();
    expect(response.data.refundInvoice.invoice).toMatchObject({ status: 'REFUNDED', amountRefunded: 8_000 });
    expect(response.data.refundInvoice.refund).toMatchObject({ amount: 7_000, reason: 'DUPLICATE' });
  });

  it('refunds a partially captured invoice up to what was captured', async () => {
    const invoice = await capturedInvoice(10_000, 4_000);
    const refused = await refund(billing.service, billing.token, { invoiceId: invoice.id, amount: 4_001, reason: 'OTHER' });
    expect(errorCodes(refused)).toEqual(['AMOUNT_EXCEEDS_BALANCE']);
    expect(refused.errors?.[0]?.extensions?.details).toMatchObject({ refundable: 4_000 });
    expect((await refund(billing.service, billing.token, { invoiceId: invoice.id, amount: 4_000, reason: 'OTHER' })).errors).toBeUndefined();
  });
});

describe('refused refunds change nothing', () => {
  it.each([
    ['more than was captured', { amount: 10_001, reason: 'OTHER' }, 'AMOUNT_EXCEEDS_BALANCE'],
    ['a zero amount', { amount: 0, reason: 'OTHER' }, 'BAD_USER_INPUT'],
    ['a negative amount', { amount: -1, reason: 'OTHER' }, 'BAD_USER_INPUT'],
    ['a fractional amount', { amount: 1.25, reason: 'OTHER' }, 'BAD_USER_INPUT'],
    ['an amount above 2^53', { amount: 2 ** 53 + 2, reason: 'OTHER' }, 'BAD_USER_INPUT'],
    ['an unknown reason', { amount: 100, reason: 'BECAUSE' }, 'BAD_USER_INPUT'],
    ['an empty reason', { amount: 100, reason: '' }, 'BAD_USER_INPUT'],
    ['a note over 500 characters', { amount: 100, reason: 'OTHER', note: 'x'.repeat(501) }, 'BAD_USER_INPUT'],
  ])('%s → %s', async (_label, input, code) => {
    const invoice = await capturedInvoice(10_000);
    const before = await ledgerSnapshot(billing.service.deps.db, invoice.id);
    expect(errorCodes(await refund(billing.service, billing.token, { invoiceId: invoice.id, ...input }))).toEqual([code]);
    expect(await ledgerSnapshot(billing.service.deps.db, invoice.id)).toEqual(before);
  });

  it('nothing captured yet → AMOUNT_EXCEEDS_BALANCE', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId);
    const before = await ledgerSnapshot(billing.service.deps.db, invoice.id);
    expect(errorCodes(await refund(billing.service, billing.token, { invoiceId: invoice.id, reason: 'OTHER' }))).toEqual(['AMOUNT_EXCEEDS_BALANCE']);
    expect(await ledgerSnapshot(billing.service.deps.db, invoice.id)).toEqual(before);
  });

  it('a missing reason is refused by the schema', async () => {
    const invoice = await capturedInvoice(1_000);
    expect(errorCodes(await refund(billing.service, billing.token, { invoiceId: invoice.id, amount: 10 }))).toEqual(['BAD_USER_INPUT']);
  });

  it('captures are refused once money has been refunded', async () => {
    const invoice = await capturedInvoice(10_000, 5_000);
    expect((await refund(billing.service, billing.token, { invoiceId: invoice.id, amount: 1_000, reason: 'OTHER' })).errors).toBeUndefined();
    expect(errorCodes(await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 1_000 }))).toEqual(['INVOICE_NOT_CAPTURABLE']);
  });
});
