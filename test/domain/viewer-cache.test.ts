import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { apiTokens } from '../../src/db/schema/index.js';
import { revokeApiToken } from '../../src/domain/auth/manage-tokens.js';
import { createApiToken } from '../../src/domain/auth/tokens.js';
import { ViewerCache } from '../../src/domain/auth/viewer-cache.js';
import { connectTo, createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeWorkspace } from '../support/factories.js';

/** The token → viewer cache on a real database, its clock moved by hand; statements counted. */
let database: TestDatabase;
let counting: Database;
let statements: string[] = [];
let workspaceId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  counting = connectTo(database.url, { max: 1, onQuery: (query) => statements.push(query) });
  workspaceId = (await makeWorkspace(counting.db)).id;
});
afterAll(async () => {
  await counting?.close();
  await database?.drop();
});

const tokenReads = () => statements.filter((query) => query.includes('"api_tokens"') && query.startsWith('select')).length;

it('reads a token once per TTL, and again once the TTL has passed', async () => {
  let now = 1_000_000;
  const cache = new ViewerCache(1000, () => now);
  const { token, record } = await createApiToken(counting.db, { name: 'cached', role: 'SERVICE', workspaceId });
  statements = [];
  const viewers = await Promise.all([cache.authenticate(counting.db, token), cache.authenticate(counting.db, token)]);
  expect(viewers).toEqual([{ tokenId: record.id, role: 'SERVICE', workspaceId }, { tokenId: record.id, role: 'SERVICE', workspaceId }]);
  await cache.authenticate(counting.db, token);
  expect(tokenReads()).toBe(1);
  now += 1001;
  await cache.authenticate(counting.db, token);
  expect(tokenReads()).toBe(2);
});

it('forgets a token revoked through its pool at once; sees one revoked elsewhere after the TTL', async () => {
  let now = 2_000_000;
  const cache = new ViewerCache(1000, () => now);
  const first = await createApiToken(counting.db, { name: 'revoked here', role: 'OPERATOR' });
  const second = await createApiToken(counting.db, { name: 'revoked elsewhere', role: 'OPERATOR' });
  expect(await cache.authenticate(counting.db, first.token)).not.toBeNull();
  expect(await cache.authenticate(counting.db, second.token)).not.toBeNull();

  cache.forget(first.record.id); // what revokeApiToken does for the pool it revoked through
  await counting.db.update(apiTokens).set({ revokedAt: sql`now()` }).where(eq(apiTokens.id, first.record.id));
  expect(await cache.authenticate(counting.db, first.token)).toBeNull();

  await counting.db.update(apiTokens).set({ revokedAt: sql`now()` }).where(eq(apiTokens.id, second.record.id));
  expect(await cache.authenticate(counting.db, second.token)).not.toBeNull(); // within the TTL
  now += 1001;
  expect(await cache.authenticate(counting.db, second.token)).toBeNull();
});

it('never keeps a token past its own expiry, and does not remember unknown tokens', async () => {
  let now = Date.now();
  const cache = new ViewerCache(60_000, () => now);
  const expiresAt = new Date(Date.now() + 60_000);
  const { token, record } = await createApiToken(counting.db, { name: 'expiring', role: 'OPERATOR', expiresAt });
  expect(await cache.authenticate(counting.db, token)).not.toBeNull();
  await counting.db.update(apiTokens).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(apiTokens.id, record.id));
  now = expiresAt.getTime() + 1;
  expect(await cache.authenticate(counting.db, token)).toBeNull();

  statements = [];
  expect(await cache.authenticate(counting.db, 'blt_unknown')).toBeNull();
  expect(await cache.authenticate(counting.db, 'blt_unknown')).toBeNull();
  expect(tokenReads()).toBe(2);
});

it('revokeApiToken forgets the token in the cache of the pool it revoked through', async () => {
  const { viewerCacheFor } = await import('../../src/domain/auth/viewer-cache.js');
  const cache = viewerCacheFor(counting.db, 60_000);
  const { token, record } = await createApiToken(counting.db, { name: 'revoked by the domain function', role: 'OPERATOR' });
  expect(await cache.authenticate(counting.db, token)).not.toBeNull();
  await revokeApiToken(counting.db, record.id);
  expect(await cache.authenticate(counting.db, token)).toBeNull();
});
