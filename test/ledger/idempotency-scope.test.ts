import { describe, expect, it } from 'vitest';
import { useBillingService } from '../support/billing-fixture.js';
import { makeInvoice, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { errorCodes } from '../support/graphql.js';
import { ledgerSnapshot } from '../support/ledger.js';
import { capture, refund } from '../support/payments.js';

const billing = useBillingService({ BILLING_ROLLOUT_STAGE: 'GENERAL' });
const db = () => billing.service.deps.db;

describe('idempotency keys are scoped per workspace, across invoices and kinds, as Stripe scopes them per account', () => {
  it('a key reused on another invoice is IDEMPOTENCY_KEY_REUSED and moves no money', async () => {
    const first = await makeInvoice(db(), billing.workspaceId, { amountDue: 1_000 });
    const other = await makeInvoice(db(), billing.workspaceId, { amountDue: 1_000 });
    expect((await capture(billing.service, billing.token, { invoiceId: first.id, idempotencyKey: 'order-42' })).errors).toBeUndefined();
    const before = await ledgerSnapshot(db(), other.id);
    expect(errorCodes(await capture(billing.service, billing.token, { invoiceId: other.id, idempotencyKey: 'order-42' }))).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(await ledgerSnapshot(db(), other.id)).toEqual(before);
  });

  it('a capture key reused for a refund is IDEMPOTENCY_KEY_REUSED and refunds nothing', async () => {
    const invoice = await makeInvoice(db(), billing.workspaceId, { amountDue: 1_000 });
    expect((await capture(billing.service, billing.token, { invoiceId: invoice.id, idempotencyKey: 'same-key' })).errors).toBeUndefined();
    const before = await ledgerSnapshot(db(), invoice.id);
    expect(errorCodes(await refund(billing.service, billing.token, { invoiceId: invoice.id, reason: 'OTHER', idempotencyKey: 'same-key' }))).toEqual([
      'IDEMPOTENCY_KEY_REUSED',
    ]);
    expect(await ledgerSnapshot(db(), invoice.id)).toEqual(before);
  });

  it('the same key in another workspace is another key', async () => {
    const elsewhere = await makeWorkspace(db(), { billingPilot: true });
    const token = await makeServiceToken(db(), elsewhere.id);
    const mine = await makeInvoice(db(), billing.workspaceId, { amountDue: 500 });
    const theirs = await makeInvoice(db(), elsewhere.id, { amountDue: 500 });
    expect((await capture(billing.service, billing.token, { invoiceId: mine.id, idempotencyKey: 'shared-name' })).errors).toBeUndefined();
    const answer = await capture(billing.service, token, { invoiceId: theirs.id, idempotencyKey: 'shared-name' });
    expect(answer.errors).toBeUndefined();
    expect(answer.data.captureInvoice.invoice.amountCaptured).toBe(500);
  });

  it('the same key at once on two invoices: one captures, the other is refused, never both', async () => {
    const a = await makeInvoice(db(), billing.workspaceId, { amountDue: 700 });
    const b = await makeInvoice(db(), billing.workspaceId, { amountDue: 700 });
    const answers = await Promise.all([a, b].map((invoice) => capture(billing.service, billing.token, { invoiceId: invoice.id, idempotencyKey: 'race' })));
    const succeeded = answers.filter((answer) => !answer.errors);
    expect(succeeded).toHaveLength(1);
    expect(answers.flatMap(errorCodes)).toEqual([expect.stringMatching(/^IDEMPOTENCY_KEY_(REUSED|IN_USE)$/)]);
  });
});
