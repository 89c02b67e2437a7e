import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureInvoice } from '../../src/domain/ledger/capture-invoice.js';
import { refundInvoice } from '../../src/domain/ledger/refund-invoice.js';
import { makeInvoice, makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';
import { DashboardClient, refusalCodes } from './client.js';

let service: TestService;
let operator: DashboardClient;
let workspaceId: string;
let otherWorkspaceId: string;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
  operator = new DashboardClient(service.url);
  await operator.signIn(await makeOperatorToken(service.deps.db));
  workspaceId = (await makeWorkspace(service.deps.db, { name: 'Listed Co' })).id;
  otherWorkspaceId = (await makeWorkspace(service.deps.db, { name: 'Other Co' })).id;
});
afterAll(() => service?.close());

/** The invoice numbers in the list's rows, in order. */
const numbers = (html: string) => [...html.matchAll(/<th scope="row"><a href="\/dashboard\/invoices\/[0-9a-f-]+">([^<]*)<\/a><\/th>/g)].map((match) => match[1]);

describe('the invoice list', () => {
  it('formats every money column in the currency minor unit from the server table', async () => {
    const prefix = `FMT-${randomUUID().slice(0, 6)}`;
    await makeInvoice(service.deps.db, workspaceId, { number: `${prefix}-JPY`, currency: 'JPY', amountDue: 15_000 });
    await makeInvoice(service.deps.db, workspaceId, { number: `${prefix}-USD`, currency: 'USD', amountDue: 125_005 });
    await makeInvoice(service.deps.db, workspaceId, { number: `${prefix}-KWD`, currency: 'KWD', amountDue: 12_500 });
    const page = await operator.get(`/dashboard/invoices?q=${prefix}`);
    expect(page.status).toBe(200);
    expect(numbers(page.html).sort()).toEqual([`${prefix}-JPY`, `${prefix}-KWD`, `${prefix}-USD`]);
    expect(page.html).toContain('<span class="money">15000 JPY</span>');
    expect(page.html).toContain('<span class="money">1250.05 USD</span>');
    expect(page.html).toContain('<span class="money">12.500 KWD</span>');
    expect(page.html).toContain('<span class="money">0.000 KWD</span>');
    // Times are UTC in a <time datetime>, for the script to localise.
    expect(page.html).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z" title="[\d-]+ [\d:]+ UTC">[\d-]+ [\d:]+ UTC<\/time>/);
  });

  it('filters by status, currency, workspace and creation day, kept in the URL', async () => {
    const prefix = `FLT-${randomUUID().slice(0, 6)}`;
    await makeInvoice(service.deps.db, workspaceId, { number: `${prefix}-open-usd`, currency: 'USD' });
    await makeInvoice(service.deps.db, workspaceId, { number: `${prefix}-void-usd`, currency: 'USD', voidedAt: new Date() });
    await makeInvoice(service.deps.db, otherWorkspaceId, { number: `${prefix}-open-eur`, currency: 'EUR' });
    await makeInvoice(service.deps.db, workspaceId, { number: `${prefix}-old`, currency: 'USD', createdAt: new Date('2020-03-04T12:00:00Z') });
    const list = async (query: string) => numbers((await operator.get(`/dashboard/invoices?q=${prefix}&${query}`)).html);
    expect(await list('status=VOID')).toEqual([`${prefix}-void-usd`]);
    expect(await list('currency=EUR')).toEqual([`${prefix}-open-eur`]);
    expect((await list(`workspaceId=${otherWorkspaceId}`))).toEqual([`${prefix}-open-eur`]);
    expect(await list('from=2020-03-04&to=2020-03-04')).toEqual([`${prefix}-old`]);
    expect(await list('to=2020-03-03')).toEqual([]);
    const page = await operator.get(`/dashboard/invoices?q=${prefix}&status=VOID&currency=USD`);
    expect(page.html).toContain('<option value="VOID" selected>VOID</option>');
    expect(page.html).toContain(`<input id="f-q" name="q" value="${prefix}"`);
  });

  it('finds an invoice by payment intent, by Stripe event, refund and charge id', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { number: `IDS-${randomUUID().slice(0, 6)}` });
    const viewer = { tokenId: randomUUID(), role: 'OPERATOR' } as const;
    const capture = await captureInvoice(service.deps, viewer, { invoiceId: invoice.id, amount: 5_000 });
    const refund = await refundInvoice(service.deps, viewer, { invoiceId: invoice.id, amount: 1_000, reason: 'GOODWILL' });
    // The processor's own report of the capture: a stored event that touched the invoice.
    const event = stripeEvent('charge.captured', charge({ ...newPayment(invoice.id, 10_000), paymentIntentId: invoice.paymentIntentId! }, 5_000));
    expect((await deliverEvent(service.url, event)).status).toBe(200);
    const chargeId = capture.attempt.processorObjectId!;
    const refundId = refund.refund!.processorRefundId!;
    expect(chargeId).toMatch(/^ch_/);
    expect(refundId).toMatch(/^re_/);
    for (const query of [invoice.paymentIntentId!, event.id, refundId, chargeId, invoice.number.slice(0, 8)]) {
      expect(numbers((await operator.get(`/dashboard/invoices?q=${encodeURIComponent(query)}`)).html), query).toContain(invoice.number);
    }
    expect(numbers((await operator.get('/dashboard/invoices?q=evt_none')).html)).toEqual([]);
  });

  it('pages with a cursor, keeping the filters', async () => {
    const prefix = `PG-${randomUUID().slice(0, 6)}`;
    for (let index = 0; index < 27; index++) await makeInvoice(service.deps.db, workspaceId, { number: `${prefix}-${String(index).padStart(2, '0')}` });
    const first = await operator.get(`/dashboard/invoices?q=${prefix}`);
    expect(numbers(first.html)).toHaveLength(25);
    const next = /<a href="([^"]+)" rel="next">/.exec(first.html)![1]!.replaceAll('&amp;', '&');
    expect(next).toContain(`q=${prefix}`);
    const second = await operator.get(next);
    expect(numbers(second.html)).toHaveLength(2);
    expect(new Set([...numbers(first.html), ...numbers(second.html)]).size).toBe(27);
  });

  it('escapes an invoice number carrying a script', async () => {
    const hostile = `<script>alert("x")</script>-${randomUUID().slice(0, 6)}`;
    const invoice = await makeInvoice(service.deps.db, workspaceId, { number: hostile });
    for (const path of [`/dashboard/invoices?q=${encodeURIComponent(hostile)}`, `/dashboard/invoices/${invoice.id}`]) {
      const page = await operator.get(path);
      expect(page.status).toBe(200);
      expect(page.html).not.toContain('<script>alert');
      expect(page.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    }
  });

  it('refuses a malformed filter with its code instead of guessing', async () => {
    const page = await operator.get('/dashboard/invoices?currency=XXX');
    expect(page.status).toBe(400);
    expect(refusalCodes(page.html)).toEqual(['BAD_USER_INPUT']);
    expect(refusalCodes((await operator.get('/dashboard/invoices?from=yesterday')).html)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('a service token', () => {
  it('sees only its own workspace: the list, the invoice pages and no operator page', async () => {
    const mine = await makeInvoice(service.deps.db, workspaceId, { number: `MINE-${randomUUID().slice(0, 6)}` });
    const theirs = await makeInvoice(service.deps.db, otherWorkspaceId, { number: `THEIRS-${randomUUID().slice(0, 6)}` });
    const client = new DashboardClient(service.url);
    await client.signIn(await makeServiceToken(service.deps.db, workspaceId));
    const list = await client.get('/dashboard/invoices?q=MINE-');
    expect(numbers(list.html)).toContain(mine.number);
    expect(numbers((await client.get(`/dashboard/invoices?q=${theirs.number}`)).html)).toEqual([]);
    expect(numbers((await client.get(`/dashboard/invoices?workspaceId=${otherWorkspaceId}`)).html)).toEqual([]);
    expect(list.html).not.toContain('Other Co');
    expect(list.html).not.toContain('href="/dashboard/replays"');

    const detail = await client.get(`/dashboard/invoices/${theirs.id}`);
    expect(detail.status).toBe(404);
    expect(refusalCodes(detail.html)).toEqual(['NOT_FOUND']);
    expect((await client.get(`/dashboard/invoices/${mine.id}`)).status).toBe(200);
    for (const path of ['/dashboard/replays', '/dashboard/reconciliation', '/dashboard/rollout']) {
      const page = await client.get(path);
      expect(page.status, path).toBe(403);
      expect(refusalCodes(page.html)).toEqual(['FORBIDDEN']);
    }
  });
});
