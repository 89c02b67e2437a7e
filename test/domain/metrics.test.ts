import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { DATABASE_GAUGES_QUERY } from '../../src/domain/metrics/database-gauges.js';
import { PrometheusMetrics as Metrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { connectTo, createTestDatabase, type TestDatabase } from '../support/database.js';
import { parseScrape } from '../support/prometheus.js';

let database: TestDatabase;
const logger = createLogger('silent');

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

it('reads the backlog and the pending attempts through their partial indexes', async () => {
  // Whatever the table sizes, a predicate that did not match the index's could not use it at all.
  const plan = await database.db.transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL enable_seqscan = off`);
    const rows = await tx.execute<{ 'QUERY PLAN': string }>(sql`EXPLAIN ${DATABASE_GAUGES_QUERY}`);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  });
  expect(plan).toContain('processor_events_replay_queue_idx');
  // Either partial index on pending attempts will do: both hold exactly those rows.
  expect(plan).toMatch(/payment_attempts_(pending|reserved)_idx/);
  expect(plan).not.toMatch(/Seq Scan on (processor_events|payment_attempts)/);
});

it('reads the database once per scrape, for all its gauges', async () => {
  const statements: string[] = [];
  const counting = connectTo(database.url, { max: 1, onQuery: (query) => statements.push(query) });
  try {
    const metrics = new Metrics({ db: counting.db, logger, defaultMetrics: false });
    await metrics.render();
    expect(statements.filter((statement) => statement.includes('processor_events'))).toHaveLength(1);
    await metrics.render();
    expect(statements.filter((statement) => statement.includes('processor_events'))).toHaveLength(2);
  } finally {
    await counting.close();
  }
});

it('still serves its counters when the database is unreachable, with the database gauges as NaN', async () => {
  const closed = connectTo(database.url, { max: 1 });
  await closed.close();
  const metrics = new Metrics({ db: closed.db, logger, defaultMetrics: false });
  metrics.recordPayment({ kind: 'CAPTURE', currency: 'USD', outcome: 'succeeded', amount: 500 });

  const scraped = parseScrape(await metrics.render());
  expect(scraped.value('billing_metrics_database_up')).toBe(0);
  expect(scraped.value('billing_replay_backlog')).toBeNaN();
  expect(scraped.value('billing_replay_backlog_oldest_age_seconds')).toBeNaN();
  expect(scraped.value('billing_pending_payment_attempts')).toBeNaN();
  expect(scraped.value('billing_reconciliation_last_success_timestamp_seconds')).toBeNaN();
  expect(scraped.value('billing_reconciliation_last_run_mismatches')).toBeNaN();
  expect(scraped.value('billing_capture_amount_minor_total', { currency: 'USD' })).toBe(500);
});

it('keeps one registry per instance, so several services run in one process', async () => {
  const first = new Metrics({ db: database.db, logger });
  const second = new Metrics({ db: database.db, logger });
  first.recordPayment({ kind: 'REFUND', currency: 'USD', outcome: 'succeeded', amount: 100, reason: 'GOODWILL' });
  expect(parseScrape(await first.render()).value('billing_refunds_total', { reason: 'GOODWILL' })).toBe(1);
  expect(parseScrape(await second.render()).value('billing_refunds_total', { reason: 'GOODWILL' })).toBe(0);
});

it('keeps label values to bounded sets', async () => {
  const metrics = new Metrics({ db: database.db, logger, defaultMetrics: false });
  metrics.recordPayment({ kind: 'REFUND', currency: 'usd; drop', outcome: 'succeeded', amount: 1, reason: 'made up' });
  metrics.recordProcessorEvent('stripe', `customer.${'x'.repeat(100)}`, 'ignored');
  metrics.recordProcessorEvent('stripe', 'Weird Type!', 'ignored');
  metrics.observeHttpRequest({ method: 'BREW', route: '/metrics', status: 418, seconds: 0.01 });
  const scraped = parseScrape(await metrics.render());
  expect(scraped.value('billing_refunds_total', { currency: 'OTHER', reason: 'OTHER' })).toBe(1);
  expect(scraped.value('billing_processor_events_total', { type: 'other' })).toBe(2);
  expect(scraped.observations('http_request_duration_seconds', { method: 'OTHER', status: '418' })).toBe(1);
});
