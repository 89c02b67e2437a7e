import { describe, expect, it } from 'vitest';
import { useBillingService } from '../support/billing-fixture.js';
import { makeInvoice } from '../support/factories.js';
import { ledgerSnapshot } from '../support/ledger.js';

const billing = useBillingService({ BILLING_ROLLOUT_STAGE: 'GENERAL' });

async function post(path: string, body: string | undefined, contentType: string | undefined) {
  const response = await fetch(`${billing.service.url}/api/v1/billing${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${billing.token}`, ...(contentType ? { 'content-type': contentType } : {}) },
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe('the REST money routes move money only when asked in JSON', () => {
  const refusals: [string, string | undefined, string | undefined, number][] = [
    ['an amount sent as text/plain', '{"amount":100}', 'text/plain', 415],
    ['an amount sent as a form', 'amount=100', 'application/x-www-form-urlencoded', 415],
    ['an amount sent with no content type', '{"amount":100}', undefined, 415],
    ['no body at all', undefined, undefined, 415],
    ['an empty JSON body', '', 'application/json', 400],
    ['a JSON array', '[{"amount":100}]', 'application/json', 400],
    ['a JSON string', '"100"', 'application/json', 400],
    ['JSON null', 'null', 'application/json', 400],
  ];
  for (const [what, body, contentType, status] of refusals) {
    for (const route of ['capture', 'refund'] as const) {
      it(`${route}: ${what} → ${status}, nothing written`, async () => {
        const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 5_000 });
        if (route === 'refund') {
          const captured = await post(`/invoices/${invoice.id}/capture`, '{"amount":5000}', 'application/json');
          expect(captured.status).toBe(200);
        }
        const before = await ledgerSnapshot(billing.service.deps.db, invoice.id);
        const answer = await post(`/invoices/${invoice.id}/${route}`, body, contentType);
        expect(answer).toMatchObject({ status, body: { error: { code: 'BAD_USER_INPUT' } } });
        expect(await ledgerSnapshot(billing.service.deps.db, invoice.id)).toEqual(before);
      });
    }
  }

  it('application/json with a charset is JSON', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 5_000 });
    const answer = await post(`/invoices/${invoice.id}/capture`, '{"amount":100}', 'application/json; charset=utf-8');
    expect(answer.status).toBe(200);
    expect(answer.body.invoice).toMatchObject({ amountCaptured: 100, amountRemaining: 4_900 });
    // Explicit shapes: internal columns never leak.
    expect(Object.keys(answer.body.attempt)).not.toContain('requestHash');
    expect(Object.keys(answer.body.invoice)).not.toContain('reconciledAt');
  });
});
