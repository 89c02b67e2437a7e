import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokens, dashboardSessions } from '../../src/db/schema/index.js';
import { makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { startTestService, type TestService } from '../support/service.js';
import { csrfOf, DashboardClient, refusalCodes } from './client.js';

let service: TestService;
let operator: string;

beforeAll(async () => {
  // Asked for a development token, but on a database of its own (DATABASE_URL): never offered.
  service = await startTestService({ DEV_OPERATOR_TOKEN: 'true' });
  operator = await makeOperatorToken(service.deps.db);
});
afterAll(() => service?.close());

describe('signing in', () => {
  it('shows a labelled token form, and no development token when the database is not the embedded one', async () => {
    expect(service.devOperatorToken).toMatch(/^blt_/);
    const page = await new DashboardClient(service.url).get('/dashboard/sign-in');
    expect(page.status).toBe(200);
    expect(page.html).toContain('<label for="token">API token</label>');
    expect(page.html).not.toContain('development operator token');
    expect(page.html).not.toContain(service.devOperatorToken!);
    // The IDE offers none either.
    const ide = await (await fetch(`${service.url}/graphql`, { headers: { accept: 'text/html' } })).text();
    expect(ide).not.toContain(service.devOperatorToken!);
  });

  it('sends a page without a session to sign in, and refuses a POST without one', async () => {
    const client = new DashboardClient(service.url);
    const page = await client.get('/dashboard/invoices?status=OPEN');
    expect(page.status).toBe(303);
    expect(page.location).toBe('/dashboard/sign-in?next=%2Fdashboard%2Finvoices%3Fstatus%3DOPEN');
    const post = await client.post('/dashboard/rollout', { stage: 'OFF' });
    expect(post.status).toBe(401);
    expect(refusalCodes(post.html)).toEqual(['UNAUTHENTICATED']);
  });

  it('starts a session in an HttpOnly, SameSite=Strict cookie holding a session id, not the token', async () => {
    const client = new DashboardClient(service.url);
    const done = await client.signIn(operator);
    expect(done.location).toBe('/dashboard/invoices');
    const cookie = done.setCookies.find((line) => line.startsWith('bl_session='))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).not.toContain(operator);
    expect(cookie).not.toContain(encodeURIComponent(operator));
    const page = await client.get('/dashboard/invoices');
    expect(page.status).toBe(200);
    expect(page.html).toContain('Signed in: operator');
  });

  it('refuses an unknown token with its code, and a sign-in form without its CSRF token', async () => {
    const client = new DashboardClient(service.url);
    const form = await client.get('/dashboard/sign-in');
    const wrong = await client.post('/dashboard/sign-in', { _csrf: csrfOf(form.html), token: 'blt_not-a-token' });
    expect(wrong.status).toBe(401);
    expect(refusalCodes(wrong.html)).toEqual(['UNAUTHENTICATED']);
    const forged = await client.post('/dashboard/sign-in', { _csrf: 'forged', token: operator });
    expect(forged.status).toBe(403);
    expect(refusalCodes(forged.html)).toEqual(['FORBIDDEN']);
    expect(forged.setCookies.some((line) => line.startsWith('bl_session='))).toBe(false);
  });

  it('goes back only to a dashboard page after signing in, never to another site', async () => {
    const client = new DashboardClient(service.url);
    const form = await client.get('/dashboard/sign-in?next=//evil.example/');
    const done = await client.post('/dashboard/sign-in', { _csrf: csrfOf(form.html), token: operator, next: 'https://evil.example/' });
    expect(done.location).toBe('/dashboard/invoices');
  });

  it('signs out only with the CSRF token, and the session is over afterwards', async () => {
    const client = new DashboardClient(service.url);
    await client.signIn(operator);
    const session = client.cookies.get('bl_session')!;
    const forged = await client.post('/dashboard/sign-out', { _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect((await client.get('/dashboard/invoices')).status).toBe(200);

    const out = await client.submit('/dashboard/invoices', '/dashboard/sign-out', {});
    expect(out.status).toBe(303);
    expect(out.location).toBe('/dashboard/sign-in');
    const replayed = new DashboardClient(service.url);
    replayed.cookies.set('bl_session', session);
    expect((await replayed.get('/dashboard/invoices')).status).toBe(303);
    const rows = await service.deps.db.select({ endedAt: dashboardSessions.endedAt }).from(dashboardSessions);
    expect(rows.filter((row) => row.endedAt !== null)).toHaveLength(1);
  });

  it('ends the sessions of a revoked token', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const token = await makeServiceToken(service.deps.db, workspace.id);
    const client = new DashboardClient(service.url);
    await client.signIn(token);
    expect((await client.get('/dashboard/invoices')).status).toBe(200);
    await service.deps.db.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.tokenPrefix, token.slice(0, 10)));
    expect((await client.get('/dashboard/invoices')).status).toBe(303);
  });
});
