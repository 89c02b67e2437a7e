import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokens, type Invoice, type Workspace } from '../../src/db/schema/index.js';
import { hashToken } from '../../src/domain/auth/tokens.js';
import { makeInvoice, makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { errorCodes, graphql, type GraphQLResponse } from '../support/graphql.js';
import { startTestService, type TestService } from '../support/service.js';

let service: TestService;
let operator: string;
let own: { workspace: Workspace; invoice: Invoice; token: string };
let other: { workspace: Workspace; invoice: Invoice };

beforeAll(async () => {
  service = await startTestService();
  const { db } = service.deps;
  operator = await makeOperatorToken(db);
  const ownWorkspace = await makeWorkspace(db);
  own = { workspace: ownWorkspace, invoice: await makeInvoice(db, ownWorkspace.id), token: await makeServiceToken(db, ownWorkspace.id) };
  const otherWorkspace = await makeWorkspace(db, { billingPilot: false });
  other = { workspace: otherWorkspace, invoice: await makeInvoice(db, otherWorkspace.id) };
});
afterAll(() => service.close());

const INVOICE = `query ($id: UUID!) { invoice(id: $id) { id workspaceId } }`;
const INVOICES = `query ($workspaceId: UUID) { invoices(workspaceId: $workspaceId, first: 100) { edges { node { id workspaceId } } } }`;
const CREATE = `mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input) { id workspaceId } }`;

const invoiceIds = (response: { data?: any }) =>
  (response.data.invoices.edges as { node: { id: string } }[]).map((edge) => edge.node.id).sort();

/** Raw HTTP, for headers the `graphql` helper would not send. */
async function withAuthorization(authorization: string): Promise<GraphQLResponse> {
  const response = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ query: '{ viewer { role } }' }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse, 'status'>) };
}

describe('without a valid token', () => {
  it('refuses a request with no token', async () => {
    const response = await graphql(service.url, INVOICES, {});
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.data).toBeNull();
  });

  it.each([
    ['a Basic header', `Basic ${Buffer.from('user:pass').toString('base64')}`],
    ['a Bearer header with no token', 'Bearer '],
    ['a token without the scheme', 'blt_abc'],
    ['two tokens', 'Bearer blt_a blt_b'],
  ])('refuses %s', async (_label, header) => {
    expect(errorCodes(await withAuthorization(header))).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses an unknown token', async () => {
    const response = await graphql(service.url, INVOICE, { id: own.invoice.id }, 'blt_thisTokenWasNeverIssuedToAnyone');
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses a token revoked elsewhere (the CLI, another process) within AUTH_CACHE_TTL_MS', async () => {
    const token = await makeServiceToken(service.deps.db, own.workspace.id);
    expect((await graphql(service.url, INVOICE, { id: own.invoice.id }, token)).data.invoice.id).toBe(own.invoice.id);

    // Straight in the database, as another process's revocation: this process's cache is not told.
    await service.deps.db.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.tokenHash, hashToken(token)));
    const revokedAt = Date.now();
    // The cached entry was made before the revocation, so it has expired by revokedAt + TTL: a request sent
    // after that is refused, however slowly this machine answers it.
    await new Promise((resolve) => setTimeout(resolve, revokedAt + service.deps.config.authCacheTtlMs + 20 - Date.now()));
    const response = await graphql(service.url, INVOICE, { id: own.invoice.id }, token);
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.data?.invoice).toBeNull();
  });
});

describe('an operator token', () => {
  it('sees every workspace and every invoice', async () => {
    const workspaces = await graphql(service.url, '{ workspaces { id } }', {}, operator);
    expect(workspaces.data.workspaces.map((workspace: { id: string }) => workspace.id).sort()).toEqual(
      [own.workspace.id, other.workspace.id].sort(),
    );
    expect(invoiceIds(await graphql(service.url, INVOICES, {}, operator))).toEqual([own.invoice.id, other.invoice.id].sort());
    const response = await graphql(service.url, INVOICE, { id: other.invoice.id }, operator);
    expect(response.data.invoice).toEqual({ id: other.invoice.id, workspaceId: other.workspace.id });
  });

  it('is an operator with no workspace', async () => {
    const response = await graphql(service.url, '{ viewer { role workspaceId workspace { id } } }', {}, operator);
    expect(response.data.viewer).toEqual({ role: 'OPERATOR', workspaceId: null, workspace: null });
  });
});

describe('a service token', () => {
  it('knows its role and workspace', async () => {
    const response = await graphql(service.url, '{ viewer { tokenId role workspaceId workspace { id name } } }', {}, own.token);
    expect(response.errors).toBeUndefined();
    expect(response.data.viewer).toMatchObject({
      role: 'SERVICE',
      workspaceId: own.workspace.id,
      workspace: { id: own.workspace.id, name: own.workspace.name },
    });
  });

  it('reads an invoice of its own workspace', async () => {
    const response = await graphql(service.url, INVOICE, { id: own.invoice.id }, own.token);
    expect(response.data.invoice).toEqual({ id: own.invoice.id, workspaceId: own.workspace.id });
  });

  it("gets null for another workspace's invoice, exactly as for one that does not exist", async () => {
    const response = await graphql(service.url, INVOICE, { id: other.invoice.id }, own.token);
    expect(response.errors).toBeUndefined();
    expect(response.data.invoice).toBeNull();
  });

  it('lists only its own invoices', async () => {
    expect(invoiceIds(await graphql(service.url, INVOICES, {}, own.token))).toEqual([own.invoice.id]);
    expect(invoiceIds(await graphql(service.url, INVOICES, { workspaceId: own.workspace.id }, own.token))).toEqual([own.invoice.id]);
  });

  it('gets an empty list when it names another workspace', async () => {
    const response = await graphql(service.url, INVOICES, { workspaceId: other.workspace.id }, own.token);
    expect(response.errors).toBeUndefined();
    expect(response.data.invoices.edges).toEqual([]);
  });

  it('sees only its own workspace', async () => {
    const list = await graphql(service.url, '{ workspaces { id } }', {}, own.token);
    expect(list.data.workspaces).toEqual([{ id: own.workspace.id }]);
    const single = await graphql(service.url, 'query ($id: UUID!) { workspace(id: $id) { id } }', { id: other.workspace.id }, own.token);
    expect(single.data.workspace).toBeNull();
  });

  it('cannot create an invoice in another workspace (NOT_FOUND) and writes nothing', async () => {
    const input = { workspaceId: other.workspace.id, number: 'INTRUDER-1', currency: 'USD', amountDue: 100 };
    const response = await graphql(service.url, CREATE, { input }, own.token);
    expect(errorCodes(response)).toEqual(['NOT_FOUND']);
    expect(invoiceIds(await graphql(service.url, INVOICES, { workspaceId: other.workspace.id }, operator))).toEqual([other.invoice.id]);
  });

  it('creates an invoice in its own workspace', async () => {
    const input = { workspaceId: own.workspace.id, number: 'OWN-1', currency: 'USD', amountDue: 100 };
    const response = await graphql(service.url, CREATE, { input }, own.token);
    expect(response.errors).toBeUndefined();
    expect(response.data.createInvoice.workspaceId).toBe(own.workspace.id);
  });
});
