import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, invoices, paymentAttempts, refunds, invoiceTimelineEvents } from '../../src/db/schema/index.js';
import { makeInvoice, makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { syntheticGateway } from '../support/payments.js';
import { startTestService, type TestService } from '../support/service.js';
import { csrfOf, DashboardClient, refusalCodes, refusals } from './client.js';

let service: TestService;
let operator: DashboardClient;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ BILLING_ROLLOUT_STAGE: 'PILOT' });
  operator = new DashboardClient(service.url);
  await operator.signIn(await makeOperatorToken(service.deps.db));
  workspaceId = (await makeWorkspace(service.deps.db, { billingPilot: true })).id;
});
afterEach(() => expectLedgerConsistent(service.deps.db));
afterAll(() => service?.close());

/** What is stored about an invoice's money: none of it may change on a refused action. */
async function stored(invoiceId: string) {
  const db = service.deps.db;
  const [invoice] = await db.select().from(invoices).where(eq(invoices.id, invoiceId));
  return {
    totals: { captured: invoice!.amountCaptured, refunded: invoice!.amountRefunded, updatedAt: invoice!.updatedAt.toISOString() },
    attempts: (await db.select({ id: paymentAttempts.id }).from(paymentAttempts).where(eq(paymentAttempts.invoiceId, invoiceId))).length,
    lines: (await db.select({ id: invoiceAdjustments.id }).from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, invoiceId))).length,
    refunds: (await db.select({ id: refunds.id }).from(refunds).where(eq(refunds.invoiceId, invoiceId))).length,
    timeline: (await db.select({ id: invoiceTimelineEvents.id }).from(invoiceTimelineEvents).where(eq(invoiceTimelineEvents.invoiceId, invoiceId))).length,
  };
}

const keyOf = (html: string, action: 'capture' | 'refund') =>
  new RegExp(`action="/dashboard/invoices/[0-9a-f-]+/${action}">.*?name="idempotencyKey" value="([^"]+)"`, 's').exec(html)![1]!;

/** Fills the form of the invoice page as a person would: the page's CSRF token and idempotency key. */
async function submit(client: DashboardClient, invoiceId: string, action: 'capture' | 'refund', fields: Record<string, string>) {
  const page = await client.get(`/dashboard/invoices/${invoiceId}`);
  return client.post(`/dashboard/invoices/${invoiceId}/${action}`, { _csrf: csrfOf(page.html), idempotencyKey: keyOf(page.html, action), ...fields });
}

describe('capture and refund from the invoice page', () => {
  it('captures part in major units, refunds part with a reason, and shows the trail', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { currency: 'KWD', amountDue: 12_500 });
    const captured = await submit(operator, invoice.id, 'capture', { amount: '4.250' });
    expect(captured.status, captured.html).toBe(303);
    const after = await operator.get(captured.location!);
    expect(after.html).toContain('The capture of <span class="money">4.250 KWD</span> is <strong>SUCCEEDED</strong>');
    expect((await stored(invoice.id)).totals.captured).toBe(4_250);

    const refunded = await submit(operator, invoice.id, 'refund', { amount: '1.005', reason: 'GOODWILL', note: 'late delivery' });
    expect(refunded.status, refunded.html).toBe(303);
    const [refund] = await service.deps.db.select().from(refunds).where(eq(refunds.invoiceId, invoice.id));
    expect(refund).toMatchObject({ amount: 1_005, reason: 'GOODWILL', note: 'late delivery', source: 'API' });

    const page = (await operator.get(`/dashboard/invoices/${invoice.id}`)).html;
    expect(page).toContain('<dt>= Remaining</dt><dd><span class="money">8.250 KWD</span>');
    expect(page).toContain('<dt>Captured − refunded = net</dt><dd><span class="money">3.245 KWD</span>');
    expect(page).toMatch(/<div class="agree"><dt>Processor net<\/dt><dd><span class="money">3.245 KWD<\/span>/);
    expect(page).toContain('<th scope="row">CAPTURE_SUCCEEDED</th>');
    expect(page).toContain('<th scope="row">REFUND_SUCCEEDED</th>');
    // The trail: each ledger line to its attempt (with the key the form generated) to the processor's object.
    const [attempt] = await service.deps.db.select().from(paymentAttempts).where(and(eq(paymentAttempts.kind, 'CAPTURE'), eq(paymentAttempts.invoiceId, invoice.id)));
    expect(page).toContain(`<a href="#attempt-${attempt!.id}">attempt ${attempt!.id.slice(0, 8)}</a> (key <code>${attempt!.idempotencyKey}</code>)`);
    expect(page).toContain(`<code>${attempt!.processorObjectId}</code>`);
    expect(page).toContain(`<code>${refund!.processorRefundId}</code>`);
  });

  it('renders a fresh idempotency key with every form, and a resubmitted form does not capture twice', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 10_000 });
    const first = await operator.get(`/dashboard/invoices/${invoice.id}`);
    const second = await operator.get(`/dashboard/invoices/${invoice.id}`);
    expect(keyOf(first.html, 'capture')).not.toBe(keyOf(second.html, 'capture'));
    expect(keyOf(first.html, 'capture')).not.toBe(keyOf(first.html, 'refund'));
    const form = { _csrf: csrfOf(first.html), idempotencyKey: keyOf(first.html, 'capture'), amount: '10' };
    expect((await operator.post(`/dashboard/invoices/${invoice.id}/capture`, form)).status).toBe(303);
    expect((await operator.post(`/dashboard/invoices/${invoice.id}/capture`, form)).status).toBe(303);
    expect((await stored(invoice.id)).totals.captured).toBe(1_000);
    expect((await stored(invoice.id)).attempts).toBe(1);
  });
});

describe('every refusal is shown with its code, and nothing is written', () => {
  const cases: { name: string; code: string; status: number; action: 'capture' | 'refund'; fields: Record<string, string>; setUp?: (invoiceId: string) => Promise<void>; pilot?: boolean }[] = [
    { name: 'too many decimals for the currency', code: 'BAD_USER_INPUT', status: 400, action: 'capture', fields: { amount: '1.234' } },
    { name: 'not a number', code: 'BAD_USER_INPUT', status: 400, action: 'capture', fields: { amount: '12,50' } },
    { name: 'zero', code: 'BAD_USER_INPUT', status: 400, action: 'capture', fields: { amount: '0' } },
    { name: 'more than is due', code: 'AMOUNT_EXCEEDS_BALANCE', status: 422, action: 'capture', fields: { amount: '100.01' } },
    { name: 'a refund of nothing captured', code: 'AMOUNT_EXCEEDS_BALANCE', status: 422, action: 'refund', fields: { amount: '1', reason: 'OTHER' } },
    { name: 'a reason outside the list', code: 'BAD_USER_INPUT', status: 400, action: 'refund', fields: { amount: '1', reason: 'BECAUSE' } },
    { name: 'a note too long', code: 'BAD_USER_INPUT', status: 400, action: 'refund', fields: { amount: '1', reason: 'OTHER', note: 'x'.repeat(501) } },
    { name: 'a workspace outside the pilot', code: 'ROLLOUT_BLOCKED', status: 403, action: 'capture', fields: { amount: '1' }, pilot: false },
    {
      name: 'the processor unreachable',
      code: 'GATEWAY_UNAVAILABLE',
      status: 503,
      action: 'capture',
      fields: { amount: '1' },
      setUp: async (invoiceId) => syntheticGateway(service).injectFailure({ invoiceId, operation: 'capture', mode: 'unavailable' }),
    },
  ];

  it.each(cases)('$name: $code', async ({ code, status, action, fields, setUp, pilot }) => {
    const ws = pilot === false ? (await makeWorkspace(service.deps.db, { billingPilot: false })).id : workspaceId;
    const invoice = await makeInvoice(service.deps.db, ws, { amountDue: 10_000 });
    await setUp?.(invoice.id);
    const before = await stored(invoice.id);
    const page = await submit(operator, invoice.id, action, fields);
    expect(page.status, refusals(page.html).join()).toBe(status);
    expect(refusalCodes(page.html)).toEqual([code]);
    // The form is shown again with what was typed, under a new idempotency key.
    expect(page.html).toContain(`value="${fields.amount}"`);
    const after = await stored(invoice.id);
    if (code === 'GATEWAY_UNAVAILABLE') {
      // The attempt is kept UNKNOWN for reconciliation, as over GraphQL; no money moved.
      expect({ ...after, attempts: before.attempts, timeline: before.timeline }).toEqual(before);
    } else {
      expect(after).toEqual(before);
    }
  });

  it('a declined capture: GATEWAY_DECLINED with the decline code, no money moved', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 10_000 });
    syntheticGateway(service).injectFailure({ invoiceId: invoice.id, operation: 'capture', mode: 'decline', declineCode: 'insufficient_funds' });
    const page = await submit(operator, invoice.id, 'capture', { amount: '5' });
    expect(page.status).toBe(402);
    expect(refusalCodes(page.html)).toEqual(['GATEWAY_DECLINED']);
    expect(page.html).toContain('&quot;insufficient_funds&quot;');
    expect((await stored(invoice.id)).totals.captured).toBe(0);
    expect((await stored(invoice.id)).lines).toBe(0);
    expect(page.html).toContain('<span class="code">insufficient_funds</span>');
  });

  it('a capture once money is refunded: INVOICE_NOT_CAPTURABLE', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 10_000 });
    expect((await submit(operator, invoice.id, 'capture', { amount: '50' })).status).toBe(303);
    expect((await submit(operator, invoice.id, 'refund', { amount: '10', reason: 'DUPLICATE' })).status).toBe(303);
    const before = await stored(invoice.id);
    const page = await submit(operator, invoice.id, 'capture', { amount: '1' });
    expect(page.status).toBe(409);
    expect(refusalCodes(page.html)).toEqual(['INVOICE_NOT_CAPTURABLE']);
    expect(await stored(invoice.id)).toEqual(before);
  });

  it('one idempotency key for two different requests: IDEMPOTENCY_KEY_REUSED', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 10_000 });
    const page = await operator.get(`/dashboard/invoices/${invoice.id}`);
    const form = { _csrf: csrfOf(page.html), idempotencyKey: keyOf(page.html, 'capture') };
    expect((await operator.post(`/dashboard/invoices/${invoice.id}/capture`, { ...form, amount: '1' })).status).toBe(303);
    const before = await stored(invoice.id);
    const reused = await operator.post(`/dashboard/invoices/${invoice.id}/capture`, { ...form, amount: '2' });
    expect(reused.status).toBe(409);
    expect(refusalCodes(reused.html)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(await stored(invoice.id)).toEqual(before);
  });

  it('a form without its CSRF token, or with another session\'s: FORBIDDEN', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 10_000 });
    const before = await stored(invoice.id);
    const other = new DashboardClient(service.url);
    await other.signIn(await makeOperatorToken(service.deps.db));
    const othersToken = csrfOf((await other.get('/dashboard/invoices')).html);
    for (const csrf of [undefined, '', othersToken]) {
      const page = await operator.post(`/dashboard/invoices/${invoice.id}/capture`, { ...(csrf === undefined ? {} : { _csrf: csrf }), amount: '1', idempotencyKey: randomUUID() });
      expect(page.status).toBe(403);
      expect(refusalCodes(page.html)).toEqual(['FORBIDDEN']);
    }
    expect(await stored(invoice.id)).toEqual(before);
  });

  it("another workspace's invoice, for a service token: NOT_FOUND, nothing written", async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 10_000 });
    const outsider = new DashboardClient(service.url);
    await outsider.signIn(await makeServiceToken(service.deps.db, (await makeWorkspace(service.deps.db)).id));
    const page = await outsider.submit('/dashboard/invoices', `/dashboard/invoices/${invoice.id}/capture`, { amount: '1', idempotencyKey: randomUUID() });
    expect(page.status).toBe(404);
    expect(refusalCodes(page.html)).toEqual(['NOT_FOUND']);
    expect((await stored(invoice.id)).attempts).toBe(0);
  });
});
