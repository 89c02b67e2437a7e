import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { errorCodes, graphql } from '../support/graphql.js';
import { startTestService, type TestService } from '../support/service.js';

let service: TestService;
let operator: string;
let invoiceId: string;
let admin: postgres.Sql;

beforeAll(async () => {
  service = await startTestService({ BILLING_ROLLOUT_STAGE: 'GENERAL' });
  operator = await makeOperatorToken(service.deps.db);
  invoiceId = (await makeInvoice(service.deps.db, (await makeWorkspace(service.deps.db)).id, { amountDue: 1_000 })).id;
  admin = postgres(inject('adminUrl'), { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await admin.end();
  await service.close();
});

const terminateConnections = (name: string) =>
  admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`;

async function whileDatabaseDown<T>(act: () => Promise<T>): Promise<T> {
  const name = service.database.name;
  await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
  try {
    await terminateConnections(name);
    return await act();
  } finally {
    await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
  }
}

async function rest(method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await fetch(`${service.url}/api/v1/billing${path}`, {
    method,
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
}

const INVOICE = 'query ($id: UUID!) { invoice(id: $id) { id amountCaptured } }';

describe('the database is down', () => {
  it('REST answers 503 SERVICE_UNAVAILABLE with Retry-After, and works again once it is back', async () => {
    const [capture, replays] = await whileDatabaseDown(() =>
      Promise.all([rest('POST', `/invoices/${invoiceId}/capture`, { amount: 100 }), rest('GET', '/replays')]),
    );
    for (const response of [capture, replays]) {
      expect(response).toMatchObject({ status: 503, retryAfter: '5', body: { error: { code: 'SERVICE_UNAVAILABLE' } } });
    }
    expect((await rest('POST', `/invoices/${invoiceId}/capture`, { amount: 100 })).status).toBe(200);
  });

  it('GraphQL answers 503 SERVICE_UNAVAILABLE when it cannot even read the token', async () => {
    const response = await whileDatabaseDown(() => graphql(service.url, INVOICE, { id: invoiceId }, operator));
    expect(response.status).toBe(503);
    expect(errorCodes(response)).toEqual(['SERVICE_UNAVAILABLE']);
    expect((await graphql(service.url, INVOICE, { id: invoiceId }, operator)).status).toBe(200);
  });

  it('GraphQL answers 503 SERVICE_UNAVAILABLE when a resolver cannot reach its data (a lock timeout)', async () => {
    const name = service.database.name;
    await admin.unsafe(`ALTER DATABASE "${name}" SET lock_timeout = '200ms'`);
    await terminateConnections(name); // the pool reconnects with the new setting
    const blocker = postgres(service.database.url, { max: 1, onnotice: () => {} });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      const blocking = blocker.begin(async (tx) => {
        await tx`LOCK TABLE invoices IN ACCESS EXCLUSIVE MODE`;
        locked();
        await held;
      });
      await lockTaken;
      const response = await graphql(service.url, INVOICE, { id: invoiceId }, operator);
      release();
      await blocking;
      expect(response.status).toBe(503);
      expect(errorCodes(response)).toEqual(['SERVICE_UNAVAILABLE']);
    } finally {
      await blocker.end();
      await admin.unsafe(`ALTER DATABASE "${name}" RESET lock_timeout`);
      await terminateConnections(name);
    }
    // A pooled connection may learn only on its next query that it was terminated: poll.
    await expect.poll(async () => (await graphql(service.url, INVOICE, { id: invoiceId }, operator)).status, { timeout: 10_000 }).toBe(200);
  });
});
