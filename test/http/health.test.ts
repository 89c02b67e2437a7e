import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { dropDatabase } from '../../src/db/admin.js';
import { startTestService, type TestService } from '../support/service.js';

// This file's service has a database of its own, which the last test drops under it.
let service: TestService;

beforeAll(async () => {
  service = await startTestService();
});
afterAll(() => service.close());

const get = async (path: string) => {
  const response = await fetch(service.url + path);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

it('/healthz answers while the process runs', async () => {
  expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
});

it('/readyz answers 200 when the database and pg-boss answer, requests can be admitted and it is not shutting down', async () => {
  expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'ok', jobs: 'ok', admission: 'ok', serving: 'ok' } } });
});

it('/readyz answers 503 once the database is gone, and /healthz still answers', async () => {
  await dropDatabase(inject('adminUrl'), service.database.name);

  expect(await get('/readyz')).toEqual({
    status: 503,
    body: { status: 'unavailable', checks: { database: 'unavailable', jobs: 'unavailable', admission: 'ok', serving: 'ok' } },
  });
  // Restarting the process would not bring the database back: it stays alive, and its pools reconnect.
  expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
});
