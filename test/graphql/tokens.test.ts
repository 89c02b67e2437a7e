import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokens, type Workspace } from '../../src/db/schema/index.js';
import { hashToken } from '../../src/domain/auth/tokens.js';
import { makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { errorCodes, graphql } from '../support/graphql.js';
import { startTestService, type TestService } from '../support/service.js';

let service: TestService;
let operator: string;
let workspace: Workspace;

beforeAll(async () => {
  service = await startTestService();
  operator = await makeOperatorToken(service.deps.db);
  workspace = await makeWorkspace(service.deps.db);
});
afterAll(() => service.close());

const FIELDS = 'id name role workspaceId tokenPrefix state createdAt lastUsedAt expiresAt revokedAt';
const LIST = `query ($all: Boolean) { apiTokens(includeInactive: $all) { ${FIELDS} } }`;
const CREATE = `mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { ${FIELDS} } } }`;
const REVOKE = `mutation ($id: UUID!) { revokeApiToken(id: $id) { ${FIELDS} } }`;
const VIEWER = '{ viewer { tokenId } }';

/** Past the time a process trusts a token it has checked: a change made straight in the database shows. */
const pastViewerCache = () => new Promise((resolve) => setTimeout(resolve, service.deps.config.authCacheTtlMs + 50));

const stored = async (token: string) =>
  (await service.deps.db.select().from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(token))))[0]!;

/** A capture of an invoice that does not exist: 404 with a valid token, 401 without one; nothing is written either way. */
const restCapture = (token: string) =>
  fetch(`${service.url}/api/v1/billing/invoices/00000000-0000-4000-8000-000000000000/capture`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'revoked-token-check' },
    body: '{}',
  });

async function createService(extra: Record<string, unknown> = {}) {
  const response = await graphql(service.url, CREATE, { input: { name: 'ci deploys', role: 'SERVICE', workspaceId: workspace.id, ...extra } }, operator);
  expect(response.errors).toBeUndefined();
  return response.data.createApiToken as { token: string; apiToken: Record<string, unknown> & { id: string } };
}

describe('an operator', () => {
  it('creates a token, shown once, that authenticates; the listing shows it without its secret', async () => {
    const { token, apiToken } = await createService();
    expect(token).toMatch(/^blt_/);
    expect(apiToken).toMatchObject({ name: 'ci deploys', role: 'SERVICE', workspaceId: workspace.id, state: 'ACTIVE', revokedAt: null, expiresAt: null, lastUsedAt: null });
    expect(token.startsWith(apiToken.tokenPrefix as string)).toBe(true);
    expect((await graphql(service.url, VIEWER, {}, token)).data.viewer.tokenId).toBe(apiToken.id);

    const listed = await graphql(service.url, LIST, {}, operator);
    expect(listed.data.apiTokens.map((t: { id: string }) => t.id)).toContain(apiToken.id);
    expect(JSON.stringify(listed)).not.toContain(token);
    expect(JSON.stringify(listed)).not.toContain(hashToken(token));
    // The hash is not even a field.
    expect(errorCodes(await graphql(service.url, '{ apiTokens { tokenHash } }', {}, operator))).toEqual(['BAD_USER_INPUT']);
  });

  it('revokes a token: the next request with it is UNAUTHENTICATED; a second revoke keeps the first time', async () => {
    const { token, apiToken } = await createService();
    // REST remembers the viewer as GraphQL does (one cache): a revocation here reaches both at once.
    expect((await restCapture(token)).status).toBe(404);
    const revoked = await graphql(service.url, REVOKE, { id: apiToken.id }, operator);
    expect(revoked.data.revokeApiToken).toMatchObject({ id: apiToken.id, state: 'REVOKED' });
    const firstTime = (await stored(token)).revokedAt;
    expect(firstTime).not.toBeNull();

    expect(errorCodes(await graphql(service.url, VIEWER, {}, token))).toEqual(['UNAUTHENTICATED']);
    expect((await restCapture(token)).status).toBe(401);
    await graphql(service.url, REVOKE, { id: apiToken.id }, operator);
    expect((await stored(token)).revokedAt).toEqual(firstTime);

    const active = await graphql(service.url, LIST, {}, operator);
    expect(active.data.apiTokens.map((t: { id: string }) => t.id)).not.toContain(apiToken.id);
    const all = await graphql(service.url, LIST, { all: true }, operator);
    expect(all.data.apiTokens.find((t: { id: string }) => t.id === apiToken.id)).toMatchObject({ state: 'REVOKED' });
  });

  it('answers NOT_FOUND for a token that does not exist', async () => {
    const response = await graphql(service.url, REVOKE, { id: '00000000-0000-4000-8000-000000000000' }, operator);
    expect(errorCodes(response)).toEqual(['NOT_FOUND']);
  });

  it('gives a token an expiry; once past it, the token is UNAUTHENTICATED and listed EXPIRED', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const { token, apiToken } = await createService({ expiresAt });
    expect(new Date(apiToken.expiresAt as string).toISOString()).toBe(expiresAt);
    expect(errorCodes(await graphql(service.url, VIEWER, {}, token))).toEqual([]);

    await service.deps.db.update(apiTokens).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(apiTokens.id, apiToken.id));
    await pastViewerCache();

    expect(errorCodes(await graphql(service.url, VIEWER, {}, token))).toEqual(['UNAUTHENTICATED']);
    const all = await graphql(service.url, LIST, { all: true }, operator);
    expect(all.data.apiTokens.find((t: { id: string }) => t.id === apiToken.id)).toMatchObject({ state: 'EXPIRED' });
  });

  it('cannot create a token that has already expired', async () => {
    const before = await service.deps.db.$count(apiTokens);
    const response = await graphql(service.url, CREATE, { input: { name: 'late', role: 'OPERATOR', expiresAt: new Date(Date.now() - 1000).toISOString() } }, operator);
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(await service.deps.db.$count(apiTokens)).toBe(before);
  });
});

describe('last use', () => {
  it('is recorded on first use, and written again only once it is a minute old', async () => {
    const { token, apiToken } = await createService();
    await graphql(service.url, VIEWER, {}, token);
    expect((await stored(token)).lastUsedAt).not.toBeNull();

    // Fresh (30 s old): another request leaves it as it is.
    await service.deps.db.update(apiTokens).set({ lastUsedAt: sql`now() - interval '30 seconds'` }).where(eq(apiTokens.id, apiToken.id));
    await pastViewerCache();
    const fresh = (await stored(token)).lastUsedAt!;
    await graphql(service.url, VIEWER, {}, token);
    await graphql(service.url, VIEWER, {}, token);
    expect((await stored(token)).lastUsedAt).toEqual(fresh);

    // Stale (two minutes old): the next request moves it forward.
    await service.deps.db.update(apiTokens).set({ lastUsedAt: sql`now() - interval '2 minutes'` }).where(eq(apiTokens.id, apiToken.id));
    await pastViewerCache();
    const stale = (await stored(token)).lastUsedAt!;
    await graphql(service.url, VIEWER, {}, token);
    expect((await stored(token)).lastUsedAt!.getTime()).toBeGreaterThan(stale.getTime() + 60_000);
  });
});

describe('a service token', () => {
  it.each([
    ['list tokens', LIST, {}],
    ['revoke a token', REVOKE, { id: '00000000-0000-4000-8000-000000000000' }],
    ['create a token', CREATE, { input: { name: 'x', role: 'OPERATOR' } }],
  ])('may not %s', async (_label, query, variables) => {
    const token = await makeServiceToken(service.deps.db, workspace.id);
    const before = await service.deps.db.$count(apiTokens);
    expect(errorCodes(await graphql(service.url, query, variables, token))).toEqual(['FORBIDDEN']);
    expect(await service.deps.db.$count(apiTokens)).toBe(before);
  });
});
