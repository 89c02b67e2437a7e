import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { capture } from '../support/payments.js';
import { errorCodes, graphql } from '../support/graphql.js';
import { startTestService, type TestService } from '../support/service.js';

let service: TestService;
let token: string;

beforeAll(async () => {
  service = await startTestService();
  token = await makeOperatorToken(service.deps.db);
});
afterAll(() => service.close());

const INVOICES = /* GraphQL */ `
  query Invoices($workspaceId: UUID, $status: [InvoiceStatus!], $first: Int, $after: String) {
    invoices(workspaceId: $workspaceId, status: $status, first: $first, after: $after) {
      edges { cursor node { id number status currency amountDue amountCaptured amountRefunded amountRemaining } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

describe('invoice queries', () => {
  it('reads one invoice with every field of the contract', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const invoice = await makeInvoice(service.deps.db, workspace.id, { currency: 'JPY', amountDue: 15_000 });
    const response = await graphql(
      service.url,
      `query ($id: UUID!) { invoice(id: $id) {
        id workspaceId number currency amountDue amountCaptured amountRefunded amountRemaining status
        paymentIntentId externalProcessorId capturedAt settledAt createdAt
        workspace { id name billingPilot } timeline { type source } adjustments { id } refunds { id } processorEvents { id }
      } }`,
      { id: invoice.id },
      token,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.invoice).toMatchObject({
      id: invoice.id,
      currency: 'JPY',
      amountDue: 15_000,
      amountCaptured: 0,
      amountRefunded: 0,
      amountRemaining: 15_000,
      status: 'OPEN',
      paymentIntentId: invoice.paymentIntentId,
      externalProcessorId: null,
      capturedAt: null,
      settledAt: null,
      workspace: { id: workspace.id, name: workspace.name, billingPilot: true },
      adjustments: [],
      refunds: [],
      processorEvents: [],
    });
  });

  it('answers null for an invoice that does not exist', async () => {
    const response = await graphql(service.url, `{ invoice(id: "00000000-0000-4000-8000-000000000000") { id } }`, {}, token);
    expect(response.errors).toBeUndefined();
    expect(response.data.invoice).toBeNull();
  });

  it('pages through a workspace newest first, every invoice exactly once', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const created = [];
    for (let index = 0; index < 7; index++) created.push(await makeInvoice(service.deps.db, workspace.id));

    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const response: any = await graphql(service.url, INVOICES, { workspaceId: workspace.id, first: 3, after }, token);
      expect(response.errors).toBeUndefined();
      const connection = response.data.invoices;
      seen.push(...connection.edges.map((edge: any) => edge.node.id));
      after = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
      pages++;
    } while (after);

    expect(pages).toBe(3);
    expect(seen).toEqual(created.map((invoice) => invoice.id).reverse());
  });

  it('filters by status', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const open = await makeInvoice(service.deps.db, workspace.id);
    const captured = await makeInvoice(service.deps.db, workspace.id, { amountDue: 500 });
    const partial = await makeInvoice(service.deps.db, workspace.id, { amountDue: 500 });
    expect((await capture(service, token, { invoiceId: captured.id })).errors).toBeUndefined();
    expect((await capture(service, token, { invoiceId: partial.id, amount: 200 })).errors).toBeUndefined();

    const byStatus = async (status: string[]) => {
      const response = await graphql(service.url, INVOICES, { workspaceId: workspace.id, status }, token);
      return response.data.invoices.edges.map((edge: any) => edge.node.id).sort();
    };
    expect(await byStatus(['OPEN'])).toEqual([open.id]);
    expect(await byStatus(['CAPTURED'])).toEqual([captured.id]);
    expect(await byStatus(['CAPTURED', 'PARTIALLY_CAPTURED'])).toEqual([captured.id, partial.id].sort());
  });
});

describe('createInvoice', () => {
  const CREATE = /* GraphQL */ `
    mutation ($input: CreateInvoiceInput!) {
      createInvoice(input: $input) { id number currency amountDue status timeline { type source } }
    }
  `;

  it('creates an invoice with its first timeline event', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const response = await graphql(
      service.url,
      CREATE,
      { input: { workspaceId: workspace.id, number: 'A-1', currency: 'KWD', amountDue: 12_345 } },
      token,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.createInvoice).toMatchObject({
      number: 'A-1',
      currency: 'KWD',
      amountDue: 12_345,
      status: 'OPEN',
      timeline: [{ type: 'INVOICE_CREATED', source: 'API' }],
    });
  });

  it.each([
    ['a negative amount', { amountDue: -5 }],
    ['a zero amount', { amountDue: 0 }],
    ['a fractional amount', { amountDue: 10.5 }],
    ['an amount above 2^53', { amountDue: 2 ** 53 + 2 }],
    ['an unknown currency', { currency: 'XYZ' }],
    ['a currency without a minor-unit table entry', { currency: 'XAU' }],
    ['a malformed workspace id', { workspaceId: 'not-a-uuid' }],
    ['an empty number', { number: '   ' }],
  ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_label, override) => {
    const workspace = await makeWorkspace(service.deps.db);
    const input = { workspaceId: workspace.id, number: 'B-1', currency: 'USD', amountDue: 100, ...override };
    const response = await graphql(service.url, CREATE, { input }, token);
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    const list = await graphql(service.url, INVOICES, { workspaceId: workspace.id }, token);
    expect(list.data.invoices.edges).toEqual([]);
  });

  it('refuses a duplicate number in the same workspace', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const input = { workspaceId: workspace.id, number: 'DUP-1', currency: 'USD', amountDue: 100 };
    expect((await graphql(service.url, CREATE, { input }, token)).errors).toBeUndefined();
    const second = await graphql(service.url, CREATE, { input }, token);
    expect(errorCodes(second)).toEqual(['BAD_USER_INPUT']);
    expect(second.errors?.[0]?.message).toMatch(/already exists/);
  });

  it('answers NOT_FOUND for an unknown workspace', async () => {
    const input = { workspaceId: '00000000-0000-4000-8000-000000000001', number: 'X', currency: 'USD', amountDue: 1 };
    expect(errorCodes(await graphql(service.url, CREATE, { input }, token))).toEqual(['NOT_FOUND']);
  });
});

describe('bad input to queries', () => {
  it.each([
    ['a malformed invoice id', `{ invoice(id: "nope") { id } }`, {}],
    ['a page larger than 100', INVOICES, { first: 101 }],
    ['a page of zero', INVOICES, { first: 0 }],
    ['a negative page', INVOICES, { first: -1 }],
    ['a malformed cursor', INVOICES, { after: 'definitely-not-a-cursor' }],
    ['an unknown status', INVOICES, { status: ['PAID_IN_GOLD'] }],
    ['an unknown field', `{ invoices { edges { node { secret } } } }`, {}],
  ])('refuses %s with BAD_USER_INPUT', async (_label, query, variables) => {
    const response = await graphql(service.url, query, variables, token);
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses a query deeper than the limit', async () => {
    const deep = `{ viewer { workspace { id } } invoices { edges { node { processorEvents { invoice { processorEvents { invoice { processorEvents { invoice { id } } } } } } } } } }`;
    const response = await graphql(service.url, deep, {}, token);
    expect(errorCodes(response)).toContain('BAD_USER_INPUT');
    expect(response.errors?.[0]?.message).toMatch(/depth/i);
  });
});
