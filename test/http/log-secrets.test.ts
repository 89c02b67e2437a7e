import { createHash, randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { withDatabase } from '../../src/db/admin.js';
import { createLogger } from '../../src/logger.js';
import { startService, type RunningService } from '../../src/service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeInvoice, makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { graphql } from '../support/graphql.js';
import { CAPTURE, REFUND } from '../support/payments.js';
import { charge, deliver, newPayment, sign, stripeEvent } from '../support/stripe-events.js';

/**
 * A full run at LOG_LEVEL=trace — captures, refunds, webhooks, bad tokens, database errors that carry
 * their statement's parameters, the database down — with every log line kept. None may hold a token,
 * a token's hash, the webhook secret, the database password, the metrics token or a payload.
 */
const WEBHOOK_SECRET = `whsec_${randomBytes(16).toString('hex')}`;
const METRICS_TOKEN = `metrics_${randomBytes(16).toString('hex')}`;
const DB_PASSWORD = `pw_${randomBytes(16).toString('hex')}`;
const DB_ROLE = `log_test_${randomBytes(6).toString('hex')}`;
const PAYLOAD_MARKER = `payload_marker_${randomBytes(8).toString('hex')}`;

const lines: string[] = [];
let database: TestDatabase;
let running: RunningService;
let service: { url: string; deps: RunningService['deps']; database: TestDatabase };
let admin: postgres.Sql;

beforeAll(async () => {
  admin = postgres(inject('adminUrl'), { max: 1, onnotice: () => {} });
  // The service connects as a role of its own, so that its password is one no log could hold by chance.
  await admin.unsafe(`CREATE ROLE ${DB_ROLE} LOGIN SUPERUSER PASSWORD '${DB_PASSWORD}'`);
  database = await createTestDatabase();
  const url = new URL(database.url);
  url.username = DB_ROLE;
  url.password = DB_PASSWORD;
  const config = loadConfig({
    DATABASE_URL: withDatabase(url.toString(), database.name),
    BILLING_GATEWAY: 'synthetic',
    PORT: '0',
    LOG_LEVEL: 'trace',
    DEV_OPERATOR_TOKEN: 'false',
    DEMO_SEED: 'false',
    RECONCILIATION_CRON: '0 3 1 1 *',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    METRICS_TOKEN,
    BILLING_ROLLOUT_STAGE: 'GENERAL',
  });
  running = await startService(config, createLogger(config.logLevel, { write: (line: string) => lines.push(line) }), 'start');
  service = { url: running.url!, deps: running.deps, database };
});
afterAll(async () => {
  await running?.stop();
  await database?.drop();
  await admin.unsafe(`DROP ROLE IF EXISTS ${DB_ROLE}`);
  await admin.end();
});

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

async function rest(path: string, body: unknown, token: string) {
  const response = await fetch(`${service.url}/api/v1/billing${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return response.status;
}

/** A webhook whose payload carries the marker, where a payload would be logged. */
const markedEvent = (invoiceId: string, amount: number, type = 'charge.captured') =>
  stripeEvent(type, { ...charge(newPayment(invoiceId, amount), amount), description: PAYLOAD_MARKER });

async function whileDatabaseDown(act: () => Promise<void>): Promise<void> {
  const name = service.database.name;
  await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
  try {
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`;
    await act();
  } finally {
    await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
  }
}

describe('the logs of a full run', () => {
  it('hold no token, token hash, secret, password or payload', async () => {
    const db = service.deps.db;
    const workspace = await makeWorkspace(db);
    const operator = await makeOperatorToken(db);
    const serviceToken = await makeServiceToken(db, workspace.id);
    const wrongToken = `blt_${randomBytes(32).toString('base64url')}`;
    const tokens = [operator, serviceToken, wrongToken];

    // Captures and refunds, over GraphQL and REST.
    const viaGraphQL = await makeInvoice(db, workspace.id, { amountDue: 4_000 });
    expect((await graphql(service.url, CAPTURE, { input: { invoiceId: viaGraphQL.id, amount: 4_000 } }, serviceToken)).errors).toBeUndefined();
    expect((await graphql(service.url, REFUND, { input: { invoiceId: viaGraphQL.id, amount: 1_000, reason: 'OTHER', note: 'refund note' } }, operator)).errors).toBeUndefined();
    const viaRest = await makeInvoice(db, workspace.id, { amountDue: 4_000 });
    expect(await rest(`/invoices/${viaRest.id}/capture`, { amount: 4_000 }, serviceToken)).toBe(200);
    expect(await rest(`/invoices/${viaRest.id}/refund`, { amount: 500, reason: 'GOODWILL' }, operator)).toBe(200);

    // Webhooks: applied, waiting for their invoice, replayed, poison.
    const paidByWebhook = await makeInvoice(db, workspace.id, { amountDue: 2_000 });
    expect((await deliver(service.url, sign(markedEvent(paidByWebhook.id, 2_000), { secret: WEBHOOK_SECRET }))).body).toEqual({ status: 'processed' });
    expect((await deliver(service.url, sign(markedEvent(randomUUID(), 2_000), { secret: WEBHOOK_SECRET }))).body).toEqual({ status: 'queued' });
    const poison = JSON.stringify(markedEvent(randomUUID(), 100)).replace(PAYLOAD_MARKER, `${PAYLOAD_MARKER} \\u0000`);
    expect((await deliver(service.url, sign(poison, { secret: WEBHOOK_SECRET }))).body).toEqual({ status: 'parked' });

    // Bad tokens everywhere.
    expect((await graphql(service.url, '{ invoices { edges { node { id } } } }', {}, wrongToken)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await rest(`/invoices/${viaRest.id}/capture`, {}, wrongToken)).toBe(401);
    expect((await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${wrongToken}` } })).status).toBe(401);

    // A database error with the payload among its parameters: the insert of a webhook is refused.
    await database.sql.unsafe(`ALTER TABLE processor_events ADD CONSTRAINT log_test_refuses CHECK (event_type <> 'log_test.refused') NOT VALID`);
    expect((await deliver(service.url, sign(markedEvent(randomUUID(), 100, 'log_test.refused'), { secret: WEBHOOK_SECRET }))).status).toBe(503);

    // The database down: every token is looked up by its hash, and every lookup fails.
    await whileDatabaseDown(async () => {
      for (const token of tokens) {
        expect((await graphql(service.url, '{ invoices { edges { node { id } } } }', {}, token)).status).toBe(503);
        expect(await rest(`/invoices/${viaRest.id}/capture`, { amount: 1 }, token)).toBe(503);
      }
      expect((await deliver(service.url, sign(markedEvent(randomUUID(), 100), { secret: WEBHOOK_SECRET }))).status).toBe(503);
    });

    const log = lines.join('');
    // The run was logged, errors and their causes included: the grep below is not of an empty file.
    expect(log).toContain('webhook not stored or not applied');
    expect(log).toContain('database unavailable');
    expect(log).toContain('log_test_refuses');
    const levels = new Set(lines.map((line) => (JSON.parse(line) as { level: number }).level));
    expect(levels).toContain(50); // error
    expect(levels).toContain(40); // warn

    const secrets: Record<string, string> = {
      'webhook secret': WEBHOOK_SECRET,
      'metrics token': METRICS_TOKEN,
      'database password': DB_PASSWORD,
      'payload marker': PAYLOAD_MARKER,
    };
    for (const [index, token] of tokens.entries()) {
      secrets[`token ${index}`] = token;
      secrets[`token ${index} sha256`] = sha256(token);
    }
    for (const [what, secret] of Object.entries(secrets)) {
      const leaks = lines.filter((line) => line.includes(secret));
      expect(leaks, `${what} appears in ${leaks.length} log lines, e.g. ${leaks[0]?.slice(0, 400)}`).toEqual([]);
    }
  });
});
