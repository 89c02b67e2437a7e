import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiTokens } from '../src/db/schema/index.js';
import { hashToken } from '../src/domain/auth/tokens.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { runEntryPoint } from './support/entry-point.js';

/** `token create`, `token list` and `token revoke` as an operator runs them, on a database of their own. */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

async function cli(...args: string[]) {
  const run = runEntryPoint(['token', ...args], { DATABASE_URL: database.url, BILLING_GATEWAY: 'synthetic', LOG_LEVEL: 'silent' });
  const exit = await run.exited;
  return { code: exit.code, output: run.output() };
}

it('creates a token with an expiry, lists it without its secret, revokes it, and lists it again only with --all', async () => {
  const created = await cli('create', '--role', 'operator', '--name', 'on-call', '--expires-in', '30d');
  expect(created.code).toBe(0);
  const token = /^(blt_\S+)$/m.exec(created.output)![1]!;
  const [record] = await database.db.select().from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(token)));
  expect(record!.expiresAt!.getTime() - record!.createdAt.getTime()).toBeGreaterThan(29 * 86_400_000);
  expect(created.output).toContain(`expires ${record!.expiresAt!.toISOString()}`);

  const listed = await cli('list');
  expect(listed.code).toBe(0);
  expect(listed.output).toMatch(new RegExp(`^${record!.id}  ${record!.tokenPrefix}…  active  operator .*"on-call"$`, 'm'));
  expect(listed.output).not.toContain(token);
  expect(listed.output).not.toContain(hashToken(token));

  const revoked = await cli('revoke', record!.id);
  expect(revoked.code).toBe(0);
  expect((await database.db.select().from(apiTokens).where(eq(apiTokens.id, record!.id)))[0]!.revokedAt).not.toBeNull();

  expect((await cli('list')).output).not.toContain(record!.id);
  expect((await cli('list', '--all')).output).toMatch(new RegExp(`^${record!.id}  \\S+  revoked `, 'm'));
});

it('refuses a bad lifetime and an unknown token id with a readable message and exit 1', async () => {
  const before = await database.db.$count(apiTokens);
  const badLifetime = await cli('create', '--role', 'operator', '--expires-in', 'forever');
  expect(badLifetime).toMatchObject({ code: 1 });
  expect(badLifetime.output).toMatch(/"forever" is not a token lifetime/);
  expect(await database.db.$count(apiTokens)).toBe(before);

  const unknown = await cli('revoke', '00000000-0000-4000-8000-000000000000');
  expect(unknown).toMatchObject({ code: 1 });
  expect(unknown.output).toMatch(/Token 00000000-0000-4000-8000-000000000000 not found/);
});
