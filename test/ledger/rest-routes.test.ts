import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeInvoice, makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent, ledgerSnapshot } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';

let service: TestService;
let token: string;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ BILLING_ROLLOUT_STAGE: 'PILOT' });
  token = await makeOperatorToken(service.deps.db);
  workspaceId = (await makeWorkspace(service.deps.db, { billingPilot: true })).id;
});
afterEach(() => expectLedgerConsistent(service.deps.db));
afterAll(() => service.close());

async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) {
  const response = await fetch(`${service.url}/api/v1/billing${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe('POST /api/v1/billing/invoices/{id}/capture and /refund', () => {
  it('captures part, then refunds part, answering the invoice and what was written', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 5_000 });
    const captured = await post(`/invoices/${invoice.id}/capture`, { amount: 2_000 });
    expect(captured.status).toBe(200);
    expect(captured.body.invoice).toMatchObject({ id: invoice.id, amountCaptured: 2_000, amountRemaining: 3_000, status: 'PARTIALLY_CAPTURED' });
    expect(captured.body.adjustment).toMatchObject({ kind: 'CAPTURE', amount: 2_000, source: 'API' });

    const refunded = await post(`/invoices/${invoice.id}/refund`, { amount: 500, reason: 'GOODWILL', note: 'sorry' });
    expect(refunded.status).toBe(200);
    expect(refunded.body.invoice).toMatchObject({ amountRefunded: 500, status: 'PARTIALLY_REFUNDED' });
    expect(refunded.body.refund).toMatchObject({ amount: 500, reason: 'GOODWILL', note: 'sorry' });
  });

  it('takes the Idempotency-Key header: a repeat moves money once', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 5_000 });
    const headers = { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() };
    const first = await post(`/invoices/${invoice.id}/capture`, { amount: 1_000 }, headers);
    const second = await post(`/invoices/${invoice.id}/capture`, { amount: 1_000 }, headers);
    expect(second.body.attempt.id).toBe(first.body.attempt.id);
    expect(second.body.invoice.amountCaptured).toBe(1_000);
    const reused = await post(`/invoices/${invoice.id}/capture`, { amount: 2_000 }, headers);
    expect(reused).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
  });

  it.each([
    ['no token', {}, { amount: 100 }, 401, 'UNAUTHENTICATED'],
    ['a wrong token', { authorization: 'Bearer blt_wrong' }, { amount: 100 }, 401, 'UNAUTHENTICATED'],
    ['a string amount', undefined, { amount: '100' }, 400, 'BAD_USER_INPUT'],
    ['a fractional amount', undefined, { amount: 1.5 }, 400, 'BAD_USER_INPUT'],
    ['a negative amount', undefined, { amount: -1 }, 400, 'BAD_USER_INPUT'],
    ['an unknown field', undefined, { amount: 100, currency: 'USD' }, 400, 'BAD_USER_INPUT'],
    ['malformed JSON', undefined, '{"amount": ', 400, 'BAD_USER_INPUT'],
    ['more than remains', undefined, { amount: 5_001 }, 422, 'AMOUNT_EXCEEDS_BALANCE'],
  ])('capture with %s → %i %s, nothing written', async (_label, headers, body, status, code) => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 5_000 });
    const before = await ledgerSnapshot(service.deps.db, invoice.id);
    const response = await post(`/invoices/${invoice.id}/capture`, body, headers ?? { authorization: `Bearer ${token}` });
    expect(response).toMatchObject({ status, body: { error: { code } } });
    expect(await ledgerSnapshot(service.deps.db, invoice.id)).toEqual(before);
  });

  it('maps the other refusals to their statuses', async () => {
    const outside = await makeWorkspace(service.deps.db, { billingPilot: false });
    const blocked = await makeInvoice(service.deps.db, outside.id);
    expect(await post(`/invoices/${blocked.id}/capture`, {})).toMatchObject({ status: 403, body: { error: { code: 'ROLLOUT_BLOCKED' } } });

    const voided = await makeInvoice(service.deps.db, workspaceId, { voidedAt: new Date() });
    expect(await post(`/invoices/${voided.id}/capture`, {})).toMatchObject({ status: 409, body: { error: { code: 'INVOICE_NOT_CAPTURABLE' } } });

    expect(await post(`/invoices/${randomUUID()}/capture`, {})).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(await post(`/invoices/not-a-uuid/capture`, {})).toMatchObject({ status: 400, body: { error: { code: 'BAD_USER_INPUT' } } });

    const foreign = await makeInvoice(service.deps.db, workspaceId);
    const otherToken = await makeServiceToken(service.deps.db, outside.id);
    expect(await post(`/invoices/${foreign.id}/capture`, {}, { authorization: `Bearer ${otherToken}` })).toMatchObject({ status: 404 });

    const captured = await makeInvoice(service.deps.db, workspaceId, { amountDue: 100 });
    expect((await post(`/invoices/${captured.id}/capture`, {})).status).toBe(200);
    expect(await post(`/invoices/${captured.id}/refund`, { amount: 100 })).toMatchObject({ status: 400, body: { error: { code: 'BAD_USER_INPUT' } } });
    expect(await post(`/invoices/${captured.id}/refund`, { amount: 101, reason: 'OTHER' })).toMatchObject({
      status: 422,
      body: { error: { code: 'AMOUNT_EXCEEDS_BALANCE' } },
    });
  });
});
