import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { startBenchPostgres } from '../support/postgres.js';
import { startBenchService } from '../support/service.js';
import { traceStatements } from '../support/sql-trace.js';
import { authenticateToken, createApiToken } from '../../src/domain/auth/tokens.js';
import { captureInvoice } from '../../src/domain/ledger/capture-invoice.js';
import { ingestStripeEvent } from '../../src/domain/processor-events/ingest-stripe-event.js';
import { stripeEventEnvelope } from '../../src/domain/processor-events/stripe-event.js';

const pg = await startBenchPostgres();
const service = await startBenchService(pg.url, { STRIPE_WEBHOOK_SECRET: 'whsec_x' });
const setup = postgres(pg.url, { max: 1, onnotice: () => {} });
try {
  const { token } = await createApiToken(service.deps.db, { name: 'b', role: 'OPERATOR' });
  const [ws] = await setup<{ id: string }[]>`INSERT INTO workspaces (name, slug, billing_pilot) VALUES ('B', ${'b-' + randomUUID().slice(0, 8)}, false) RETURNING id`;
  const inv = await setup<{ id: string }[]>`INSERT INTO invoices (workspace_id, number, currency, amount_due, payment_intent_id) SELECT ${ws!.id}, 'B-' || gen_random_uuid(), 'USD', 10000, 'pi_' || md5(random()::text) FROM generate_series(1, 3) RETURNING id`;
  const print = (title: string, s: { text: string; params: unknown[] }[]) => { console.log(`\n=== ${title}: ${s.length}`); for (const x of s) console.log(x.text, JSON.stringify(x.params).slice(0, 300)); };
  const t0 = await traceStatements(pg.url, service.deps, (deps) => authenticateToken(deps.db, token));
  print('auth', t0.statements);
  const viewer = t0.result!;
  const t1 = await traceStatements(pg.url, service.deps, (deps) => captureInvoice(deps, viewer, { invoiceId: inv[0]!.id, idempotencyKey: randomUUID() }));
  print('capture', t1.statements);
  const event = { id: 'evt_' + randomUUID(), object: 'event', api_version: '2025-09-30.clover', created: 1790000060, livemode: false, pending_webhooks: 1, request: { id: 'req_1', idempotency_key: null }, type: 'payment_intent.succeeded',
    data: { object: { id: 'pi_x' + randomUUID().slice(0, 8), object: 'payment_intent', amount: 10000, amount_capturable: 0, amount_received: 10000, currency: 'usd', latest_charge: 'ch_1' + randomUUID().slice(0, 8), status: 'succeeded', created: 1790000000, livemode: false, metadata: { invoice_id: inv[1]!.id }, last_payment_error: null, cancellation_reason: null } } };
  const env = stripeEventEnvelope.parse(event);
  const t2 = await traceStatements(pg.url, service.deps, (deps) => ingestStripeEvent(deps, env));
  print('webhook ' + t2.result, t2.statements);
  const t3 = await traceStatements(pg.url, service.deps, (deps) => ingestStripeEvent(deps, env));
  print('webhook dup ' + t3.result, t3.statements);
} finally { await setup.end(); await service.stop(); await pg.stop(); }
process.exit(0);
