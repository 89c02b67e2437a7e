import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentAttempts, processorEvents, reconciliationRuns } from '../../src/db/schema/index.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { graphql } from '../support/graphql.js';
import { capture, refund, syntheticGateway } from '../support/payments.js';
import { scrape, type Scrape } from '../support/prometheus.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, newRefundId, refundObject, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

let service: TestService;
let operator: string;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ BILLING_ROLLOUT_STAGE: 'GENERAL', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
  operator = await makeOperatorToken(service.deps.db);
  workspaceId = (await makeWorkspace(service.deps.db)).id;
});
afterAll(() => service.close());

/** Counters are the service's since it started: each test compares a scrape after with one before. */
type Change = { before: Scrape; after: Scrape; delta: (name: string, labels?: Record<string, string>) => number };

async function change(act: () => Promise<void>): Promise<Change> {
  const before = await scrape(service.url);
  await act();
  const after = await scrape(service.url);
  return { before, after, delta: (name, labels) => after.value(name, labels) - before.value(name, labels) };
}

async function rest(path: string, body: unknown = {}, token: string | null = operator) {
  const response = await fetch(`${service.url}/api/v1/billing${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe('GET /metrics', () => {
  it('is Prometheus text with every metric family of docs/metrics.md, typed, and the Node process metrics', async () => {
    const { families, value } = await scrape(service.url);
    const expected: Record<string, string> = {
      billing_captures_total: 'COUNTER',
      billing_capture_amount_minor_total: 'COUNTER',
      billing_refunds_total: 'COUNTER',
      billing_refund_amount_minor_total: 'COUNTER',
      billing_processor_events_total: 'COUNTER',
      billing_replay_attempts_total: 'COUNTER',
      billing_reconciliation_runs_total: 'COUNTER',
      billing_reconciliation_fixes_total: 'COUNTER',
      billing_reconciliation_mismatches_total: 'COUNTER',
      billing_replay_backlog: 'GAUGE',
      billing_replay_backlog_oldest_age_seconds: 'GAUGE',
      billing_pending_payment_attempts: 'GAUGE',
      billing_reconciliation_last_success_timestamp_seconds: 'GAUGE',
      billing_reconciliation_last_run_mismatches: 'GAUGE',
      billing_metrics_database_up: 'GAUGE',
      http_request_duration_seconds: 'HISTOGRAM',
      process_cpu_seconds_total: 'COUNTER',
      nodejs_heap_size_used_bytes: 'GAUGE',
    };
    for (const [name, type] of Object.entries(expected)) {
      expect(families.get(name)?.type, name).toBe(type);
      expect(families.get(name)?.help, name).not.toBe('');
    }
    expect(value('billing_metrics_database_up')).toBe(1);
    expect(value('billing_reconciliation_last_success_timestamp_seconds')).toBe(0);
    expect(families.get('billing_replay_attempts_total')!.metrics.map((sample) => sample.labels?.outcome).sort()).toEqual([
      'failed',
      'replayed',
      'skipped',
    ]);
  });

  it('counts a capture (+1 succeeded, its amount added) and a declined one (+1 declined, no amount)', async () => {
    const paid = await makeInvoice(service.deps.db, workspaceId, { amountDue: 12_345, currency: 'EUR' });
    const declined = await makeInvoice(service.deps.db, workspaceId, { amountDue: 500, currency: 'EUR' });
    const { delta } = await change(async () => {
      expect((await capture(service, operator, { invoiceId: paid.id })).errors).toBeUndefined();
      syntheticGateway(service).injectFailure({ invoiceId: declined.id, operation: 'capture', mode: 'decline' });
      expect((await capture(service, operator, { invoiceId: declined.id })).errors?.[0]?.extensions?.code).toBe('GATEWAY_DECLINED');
    });
    expect(delta('billing_captures_total', { currency: 'EUR', outcome: 'succeeded' })).toBe(1);
    expect(delta('billing_captures_total', { currency: 'EUR', outcome: 'declined' })).toBe(1);
    expect(delta('billing_capture_amount_minor_total', { currency: 'EUR' })).toBe(12_345);
  });

  it('counts an unanswered capture once as unknown, shows it pending, and counts its success when retried', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 700, currency: 'GBP' });
    const input = { invoiceId: invoice.id, idempotencyKey: `metrics-${randomUUID()}` };
    syntheticGateway(service).injectFailure({ invoiceId: invoice.id, operation: 'capture', mode: 'unavailable', times: 2 });

    const unanswered = await change(async () => {
      // Twice without an answer: the attempt becomes UNKNOWN once.
      for (let i = 0; i < 2; i++) expect((await capture(service, operator, input)).errors?.[0]?.extensions?.code).toBe('GATEWAY_UNAVAILABLE');
    });
    expect(unanswered.delta('billing_captures_total', { currency: 'GBP', outcome: 'unknown' })).toBe(1);
    expect(unanswered.delta('billing_captures_total', { currency: 'GBP', outcome: 'succeeded' })).toBe(0);
    expect(unanswered.delta('billing_pending_payment_attempts')).toBe(1);

    const answered = await change(async () => {
      expect((await capture(service, operator, input)).errors).toBeUndefined();
    });
    expect(answered.delta('billing_captures_total', { currency: 'GBP', outcome: 'succeeded' })).toBe(1);
    expect(answered.delta('billing_capture_amount_minor_total', { currency: 'GBP' })).toBe(700);
    expect(answered.delta('billing_captures_total', { currency: 'GBP', outcome: 'unknown' })).toBe(0);
    expect(answered.delta('billing_pending_payment_attempts')).toBe(-1);
  });

  it('counts a refund by its reason, with its amount', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 2_000 });
    expect((await capture(service, operator, { invoiceId: invoice.id })).errors).toBeUndefined();
    const { delta } = await change(async () => {
      expect((await refund(service, operator, { invoiceId: invoice.id, amount: 750, reason: 'GOODWILL' })).errors).toBeUndefined();
    });
    expect(delta('billing_refunds_total', { currency: 'USD', outcome: 'succeeded', reason: 'GOODWILL' })).toBe(1);
    expect(delta('billing_refund_amount_minor_total', { currency: 'USD', reason: 'GOODWILL' })).toBe(750);
    expect(delta('billing_refunds_total', { currency: 'USD', reason: 'OTHER' })).toBe(0);
    expect(delta('billing_captures_total')).toBe(0);
  });
});

describe('processor events', () => {
  it('counts webhooks processed, duplicate, ignored and queued; money a webhook records counts once, a rolled-back event none', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 1_000, currency: 'CHF' });
    const payment = newPayment(invoice.id, 1_000, 'chf');
    const refunded = stripeEvent('charge.refunded', charge(payment, 1_000, [{ id: newRefundId(), amount: 300, reason: 'requested_by_customer' }]));
    // The same totals again in another event: nothing new to record.
    const sameTotals = stripeEvent('charge.captured', charge(payment, 1_000));
    const unknownInvoice = stripeEvent('charge.captured', charge(newPayment(randomUUID(), 400), 400));
    // Applies the 1,000 capture, then fails on a refund larger than the invoice: the whole event rolls back.
    const tooLarge = await makeInvoice(service.deps.db, workspaceId, { amountDue: 1_000, currency: 'CHF' });
    const rolledBack = stripeEvent(
      'charge.refunded',
      charge(newPayment(tooLarge.id, 1_000, 'chf'), 1_000, [{ id: newRefundId(), amount: 1_200 }]),
    );

    const { delta } = await change(async () => {
      expect((await deliverEvent(service.url, refunded)).body).toEqual({ status: 'processed' });
      expect((await deliverEvent(service.url, refunded)).body).toEqual({ status: 'duplicate' });
      expect((await deliverEvent(service.url, sameTotals)).body).toEqual({ status: 'processed' });
      expect((await deliverEvent(service.url, stripeEvent('customer.created', { id: 'cus_1', object: 'customer' }))).body).toEqual({
        status: 'ignored',
      });
      expect((await deliverEvent(service.url, unknownInvoice)).body).toEqual({ status: 'queued' });
      expect((await deliverEvent(service.url, rolledBack)).body).toEqual({ status: 'queued' });
    });
    const events = (labels: Record<string, string>) => delta('billing_processor_events_total', { provider: 'stripe', ...labels });
    expect(events({ type: 'charge.refunded', outcome: 'processed' })).toBe(1);
    expect(events({ type: 'charge.refunded', outcome: 'duplicate' })).toBe(1);
    expect(events({ type: 'charge.refunded', outcome: 'queued' })).toBe(1);
    expect(events({ type: 'charge.captured', outcome: 'processed' })).toBe(1);
    expect(events({ type: 'charge.captured', outcome: 'queued' })).toBe(1);
    expect(events({ type: 'customer.created', outcome: 'ignored' })).toBe(1);

    expect(delta('billing_captures_total', { currency: 'CHF', outcome: 'succeeded' })).toBe(1);
    expect(delta('billing_capture_amount_minor_total', { currency: 'CHF' })).toBe(1_000);
    expect(delta('billing_refunds_total', { currency: 'CHF', outcome: 'succeeded', reason: 'REQUESTED_BY_CUSTOMER' })).toBe(1);
    expect(delta('billing_refund_amount_minor_total', { currency: 'CHF' })).toBe(300);
    expect(delta('billing_replay_backlog')).toBe(2);
  });

  it('counts an unanswered API refund as unknown, then as succeeded once, when a webhook confirms it', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 1_500, currency: 'NOK' });
    const captured = (await capture(service, operator, { invoiceId: invoice.id })).data.captureInvoice.invoice;
    syntheticGateway(service).injectFailure({ invoiceId: invoice.id, operation: 'refund', mode: 'unavailable' });
    const unanswered = await change(async () => {
      const response = await refund(service, operator, { invoiceId: invoice.id, amount: 500, reason: 'DUPLICATE' });
      expect(response.errors?.[0]?.extensions?.code).toBe('GATEWAY_UNAVAILABLE');
    });
    expect(unanswered.delta('billing_refunds_total', { currency: 'NOK', outcome: 'unknown', reason: 'DUPLICATE' })).toBe(1);

    const [attempt] = await service.deps.db
      .select()
      .from(paymentAttempts)
      .where(and(eq(paymentAttempts.invoiceId, invoice.id), eq(paymentAttempts.kind, 'REFUND')));
    const payment = { invoiceId: invoice.id, paymentIntentId: captured.paymentIntentId, chargeId: captured.externalProcessorId, currency: 'nok', amount: 1_500 };
    const confirmation = stripeEvent(
      'refund.created',
      refundObject(payment, { id: newRefundId(), amount: 500, reason: 'duplicate', metadata: { invoice_id: invoice.id, payment_attempt_id: attempt!.id } }),
    );
    const confirmed = await change(async () => {
      expect((await deliverEvent(service.url, confirmation)).body).toEqual({ status: 'processed' });
      expect((await deliverEvent(service.url, confirmation)).body).toEqual({ status: 'duplicate' });
    });
    expect(confirmed.delta('billing_refunds_total', { currency: 'NOK', outcome: 'succeeded', reason: 'DUPLICATE' })).toBe(1);
    expect(confirmed.delta('billing_refund_amount_minor_total', { currency: 'NOK', reason: 'DUPLICATE' })).toBe(500);
    expect(confirmed.delta('billing_refunds_total', { currency: 'NOK', outcome: 'unknown' })).toBe(0);
    expect(confirmed.delta('billing_pending_payment_attempts')).toBe(-1);
  });

  it('shows a queued event in the replay backlog with its age, and drops it after a forced replay', async () => {
    const invoiceId = randomUUID();
    const event = stripeEvent('charge.captured', charge(newPayment(invoiceId, 900, 'sek'), 900));
    let eventId = '';
    const queued = await change(async () => {
      expect((await deliverEvent(service.url, event)).body).toEqual({ status: 'queued' });
      const [row] = await service.deps.db
        .update(processorEvents)
        .set({ receivedAt: new Date(Date.now() - 2 * 3600_000) })
        .where(eq(processorEvents.externalId, event.id))
        .returning();
      eventId = row!.id;
    });
    expect(queued.delta('billing_replay_backlog')).toBe(1);
    expect(queued.after.value('billing_replay_backlog_oldest_age_seconds')).toBeGreaterThanOrEqual(2 * 3600);

    const failed = await change(async () => {
      expect((await rest(`/replays/${eventId}/trigger`, { force: true })).body.outcome).toBe('FAILED');
    });
    expect(failed.delta('billing_replay_attempts_total', { outcome: 'failed' })).toBe(1);
    expect(failed.delta('billing_replay_backlog')).toBe(0);

    await makeInvoice(service.deps.db, workspaceId, { id: invoiceId, amountDue: 900, currency: 'SEK' });
    const replayed = await change(async () => {
      expect((await rest(`/replays/${eventId}/trigger`, { force: true })).body.outcome).toBe('REPLAYED');
    });
    expect(replayed.delta('billing_replay_attempts_total', { outcome: 'replayed' })).toBe(1);
    expect(replayed.delta('billing_replay_attempts_total', { outcome: 'failed' })).toBe(0);
    expect(replayed.delta('billing_replay_backlog')).toBe(-1);
    expect(replayed.after.value('billing_replay_backlog_oldest_age_seconds')).toBeLessThan(2 * 3600);
    expect(replayed.delta('billing_capture_amount_minor_total', { currency: 'SEK' })).toBe(900);
  });
});

describe('reconciliation', () => {
  it('counts runs, fixes and mismatches as reported, and reads the last success from the runs table', async () => {
    const { delta, after } = await change(async () => {
      service.deps.metrics.recordReconciliationRun({
        trigger: 'SCHEDULE',
        status: 'SUCCEEDED',
        attemptsSettled: 2,
        timelineEventsBackfilled: 3,
        settlementsBackfilled: 4,
        mismatchesFound: 1,
      });
      await service.deps.db.insert(reconciliationRuns).values({
        trigger: 'OPERATOR',
        status: 'SUCCEEDED',
        startedAt: new Date('2031-05-01T10:00:00Z'),
        finishedAt: new Date('2031-05-01T10:00:07Z'),
        mismatchesFound: 3,
      });
      // A failed run afterwards does not hide what the last successful one found.
      await service.deps.db.insert(reconciliationRuns).values({
        trigger: 'SCHEDULE',
        status: 'FAILED',
        startedAt: new Date('2031-05-01T11:00:00Z'),
        finishedAt: new Date('2031-05-01T11:00:01Z'),
      });
    });
    expect(delta('billing_reconciliation_runs_total', { trigger: 'schedule', status: 'succeeded' })).toBe(1);
    expect(delta('billing_reconciliation_fixes_total', { kind: 'attempts_settled' })).toBe(2);
    expect(delta('billing_reconciliation_fixes_total', { kind: 'timeline_backfilled' })).toBe(3);
    expect(delta('billing_reconciliation_fixes_total', { kind: 'settlements_backfilled' })).toBe(4);
    expect(delta('billing_reconciliation_mismatches_total')).toBe(1);
    expect(after.value('billing_reconciliation_last_success_timestamp_seconds')).toBe(Date.parse('2031-05-01T10:00:07Z') / 1000);
    expect(after.value('billing_reconciliation_last_run_mismatches')).toBe(3);
  });
});

describe('http_request_duration_seconds', () => {
  it('labels requests with the route pattern, on errors too, and never with a raw path', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 100 });
    const missing = randomUUID();
    const { before, after } = await change(async () => {
      expect((await rest(`/invoices/${invoice.id}/capture`)).status).toBe(200);
      expect((await rest(`/invoices/${missing}/capture`)).status).toBe(404);
      expect((await rest(`/invoices/${invoice.id}/refund`, { reason: 'OTHER' }, null)).status).toBe(401);
      expect((await graphql(service.url, '{ __typename }', {}, operator)).status).toBe(200);
      expect((await fetch(`${service.url}/no/such/${missing}`)).status).toBe(404);
    });
    const count = (labels: Record<string, string>) =>
      after.observations('http_request_duration_seconds', labels) - before.observations('http_request_duration_seconds', labels);
    const capturePattern = '/api/v1/billing/invoices/:invoiceId/capture';
    expect(count({ method: 'POST', route: capturePattern, status: '200' })).toBe(1);
    // Answered by the error handler, after the router has handed the error back.
    expect(count({ method: 'POST', route: capturePattern, status: '404' })).toBe(1);
    // Refused before any route matched: the router's mount path.
    expect(count({ method: 'POST', route: '/api/v1/billing', status: '401' })).toBe(1);
    expect(count({ method: 'POST', route: '/graphql', status: '200' })).toBe(1);
    expect(count({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);

    const routes = new Set(after.histogramSeries('http_request_duration_seconds').map((labels) => labels.route));
    expect(routes).toContain('/metrics');
    for (const route of routes) expect(route).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    const buckets = after.buckets('http_request_duration_seconds', { route: capturePattern, status: '200' });
    expect(Object.keys(buckets)).toEqual(expect.arrayContaining(['0.005', '10', '+Inf']));
    expect(buckets['+Inf']).toBe(after.observations('http_request_duration_seconds', { route: capturePattern, status: '200' }));
  });
});

describe('METRICS_TOKEN', () => {
  let guarded: TestService;
  const METRICS_TOKEN = `scrape-${randomUUID()}`;
  beforeAll(async () => {
    guarded = await startTestService({ METRICS_TOKEN });
  });
  afterAll(() => guarded?.close());

  const get = (authorization?: string) => fetch(`${guarded.url}/metrics`, { headers: authorization ? { authorization } : {} });

  it('refuses a scrape without the token, with another token or with an API token, and serves one with it', async () => {
    const refused = await get();
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await refused.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect((await get(`Bearer ${METRICS_TOKEN}x`)).status).toBe(401);
    expect((await get(`Bearer ${await makeOperatorToken(guarded.deps.db)}`)).status).toBe(401);

    const served = await scrape(guarded.url, METRICS_TOKEN);
    expect(served.families.get('billing_replay_backlog')?.type).toBe('GAUGE');
  });

  it('leaves /metrics open when it is not set', async () => {
    expect((await fetch(`${service.url}/metrics`)).status).toBe(200);
  });
});
