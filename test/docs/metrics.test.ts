import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { PrometheusMetrics as Metrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { createLogger } from '../../src/logger.js';
import { projectRoot } from '../../src/paths.js';

const read = (file: string) => readFile(path.join(projectRoot(), file), 'utf8');

/** The service's own metric families (not Node's process metrics). Nothing is scraped: no database needed. */
function serviceMetricNames(): string[] {
  const metrics = new Metrics({ db: {} as Db, logger: createLogger('silent'), defaultMetrics: false });
  return metrics.registry
    .getMetricsAsArray()
    .map((metric) => metric.name)
    .sort();
}

it('docs/metrics.md has a row for every metric the service defines, and for no other', async () => {
  const text = await read('docs/metrics.md');
  const documented = [...text.matchAll(/^\|\s*`((?:billing|http)_[a-z_]+)`\s*\|/gm)].map((match) => match[1]!).sort();
  expect(documented).toEqual(serviceMetricNames());
});

it('the Grafana dashboard imports with a Prometheus data source and queries only metrics that exist', async () => {
  const dashboard = JSON.parse(await read('docs/grafana/billing-ledger.json'));
  expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
  expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
  const panels = dashboard.panels.filter((panel: any) => panel.type !== 'row');
  expect(panels.length).toBeGreaterThan(10);

  const known = new Set(serviceMetricNames());
  const queried = new Set<string>();
  for (const panel of panels) {
    expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
    expect(panel.targets.length, panel.title).toBeGreaterThan(0);
    for (const target of panel.targets) {
      const names = [...target.expr.matchAll(/\b((?:billing|http)_[a-z_]+)\b/g)].map((match: RegExpMatchArray) => match[1]!);
      expect(names.length, target.expr).toBeGreaterThan(0);
      for (const name of names) queried.add(name.replace(/_(bucket|count|sum)$/, ''));
    }
  }
  for (const name of queried) expect(known, `${name} is queried by the dashboard`).toContain(name);
  // The panels the design asks for: capture volume, refund frequency, replay backlog, reconciliation drift, latency.
  for (const name of [
    'billing_capture_amount_minor_total',
    'billing_refunds_total',
    'billing_processor_events_total',
    'billing_replay_backlog',
    'billing_replay_backlog_oldest_age_seconds',
    'billing_reconciliation_fixes_total',
    'billing_reconciliation_last_run_mismatches',
    'billing_pending_payment_attempts',
    'http_request_duration_seconds',
  ]) {
    expect(queried, name).toContain(name);
  }
});
