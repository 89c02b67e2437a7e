import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { paymentAttempts } from '../../src/db/schema/index.js';
import { holdInvoiceLock } from '../support/row-lock.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { startTestService, type TestService } from '../support/service.js';

// Two slots: two captures held on a row lock fill them, and the third request finds none.
let service: TestService;
let token: string;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ HTTP_MAX_IN_FLIGHT: '2', BILLING_ROLLOUT_STAGE: 'GENERAL', DB_LOCK_TIMEOUT_MS: '0' });
  token = await makeOperatorToken(service.deps.db);
  workspaceId = (await makeWorkspace(service.deps.db)).id;
});
afterAll(() => service.close());

const capture = (invoiceId: string, key: string) =>
  fetch(`${service.url}/api/v1/billing/invoices/${invoiceId}/capture`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ amount: 100 }),
  });

const readiness = async () => ((await (await fetch(`${service.url}/readyz`)).json()) as { checks: Record<string, string> }).checks;

it('past the limit answers 503 SERVICE_UNAVAILABLE with Retry-After at once, while the admitted requests succeed', async () => {
  const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 1_000 });
  // The test's own connection holds the invoice's row lock, so the two admitted captures wait on it.
  const lock = await holdInvoiceLock(service.database, invoice.id);

  const admitted = [capture(invoice.id, 'admitted-1'), capture(invoice.id, 'admitted-2')];
  await vi.waitFor(async () => expect((await readiness()).admission).toBe('unavailable'), { timeout: 20_000, interval: 50 });

  // Answered while both admitted requests are still waiting on the lock: refused, not queued.
  const refused = await capture(invoice.id, 'refused');
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(await refused.json()).toMatchObject({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/in flight/) } });
  // Every other route too, GraphQL and the webhook among them, before any of them reads the request.
  const graphqlRefused = await fetch(`${service.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ viewer { tokenId } }"}' });
  expect(graphqlRefused.status).toBe(503);
  expect((await fetch(`${service.url}/webhooks/stripe`, { method: 'POST', body: '{}' })).status).toBe(503);
  // Health and metrics are never refused, however spelled.
  for (const path of ['/healthz', '/healthz/', '/HEALTHZ', '/metrics', '/metrics?x=1']) expect((await fetch(`${service.url}${path}`)).status, path).toBe(200);
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="refused"[^}]*status="503"[^}]*\} [1-9]/);
  expect(await readiness()).toMatchObject({ database: 'ok', admission: 'unavailable' });

  await lock.release();
  const answers = await Promise.all(admitted);
  expect(answers.map((answer) => answer.status)).toEqual([200, 200]);

  const attempts = await service.deps.db
    .select({ key: paymentAttempts.idempotencyKey, status: paymentAttempts.status })
    .from(paymentAttempts)
    .where(eq(paymentAttempts.invoiceId, invoice.id));
  expect(attempts.map((attempt) => `${attempt.key}:${attempt.status}`).sort()).toEqual(['admitted-1:SUCCEEDED', 'admitted-2:SUCCEEDED']);

  // The slots are free again.
  expect((await readiness()).admission).toBe('ok');
  expect((await capture(invoice.id, randomUUID())).status).toBe(200);
});
