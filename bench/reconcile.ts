import { sql } from 'drizzle-orm';
import { performance } from 'node:perf_hooks';
import type { SyntheticGateway } from '../src/adapters/synthetic/synthetic-gateway.js';
import { reconciliationRuns } from '../src/db/schema/index.js';
import { runReconciliation } from '../src/domain/reconciliation/reconcile.js';
import { startBenchCommand } from './support/command-service.js';
import { wholeNumber, wholeNumbers } from './support/options.js';
import { startBenchPostgres } from './support/postgres.js';

export const description = 'reconciliation against a synthetic processor holding N payments: processor calls and time, with and without drift';

const DRIFT = 100;

/**
 * For each size (default 100 and 100,000 payments, all two days old and agreeing), after a successful
 * run 5 minutes ago: a run with nothing new (no drift), then runs after DRIFT refunds made in the
 * processor's dashboard each (drift the ledger must repair). Prints processor calls, wall time and what
 * each run found: calls and time follow the activity, not the size. Each scenario runs once per
 * RECONCILIATION_LOOKUPS_IN_FLIGHT value of `--lookups` (default 1 and 4), alternating, `--repetitions`
 * times for the drift, with `--latency-ms` of processor latency per call (default 0; Stripe's API
 * answers in tens to hundreds of ms), so the overlap of the lookups is measured against the sequential
 * baseline in the same run.
 */
export async function run(argv: string[]): Promise<number> {
  const option = (name: string, fallback: string) => (argv.includes(`--${name}`) ? (argv[argv.indexOf(`--${name}`) + 1] ?? '') : fallback);
  const sizes = wholeNumbers('sizes', option('sizes', '100,100000'), 1, 1_000_000);
  const lookups = wholeNumbers('lookups', option('lookups', '1,4'), 1, 64);
  const latencyMs = wholeNumber('latency-ms', option('latency-ms', '0'), 0, 10_000);
  const repetitions = wholeNumber('repetitions', option('repetitions', '2'), 1, 20);
  const rows: string[][] = [['payments', 'scenario', 'lookups in flight', 'processor calls', 'ms', 'checked', 'repaired', 'mismatches']];
  for (const size of sizes) {
    const postgres = await startBenchPostgres();
    // Seeding 100,000 payments takes longer than a request may.
    const service = await startBenchCommand(postgres.url, { PENDING_ATTEMPT_GRACE_SECONDS: '0', DB_STATEMENT_TIMEOUT_MS: '600000' });
    try {
      const gateway = service.deps.gateway as SyntheticGateway;
      const seededAt = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await seed(service.deps.db, gateway, size, seededAt);
      await service.deps.db.insert(reconciliationRuns).values({ trigger: 'COMMAND', status: 'SUCCEEDED', startedAt: new Date(Date.now() - 5 * 60_000), finishedAt: new Date() });
      gateway.latencyMs = latencyMs;
      const withLookups = (inFlight: number) => ({ ...service.deps, config: { ...service.deps.config, reconciliationLookupsInFlight: inFlight } });

      for (const inFlight of lookups) rows.push(await measured(withLookups(inFlight), size, 'no drift', inFlight));
      const drift = Math.min(DRIFT, size);
      for (let repetition = 0; repetition < repetitions; repetition++) {
        const order = repetition % 2 === 0 ? lookups : [...lookups].reverse();
        for (const inFlight of order) {
          for (let n = 0; n < drift; n++) await gateway.refundOutside(`pi_bench_${n * Math.floor(size / drift)}`, 100);
          rows.push(await measured(withLookups(inFlight), size, `${drift} dashboard refunds`, inFlight));
        }
      }
    } finally {
      await service.stop();
      await postgres.stop();
    }
  }
  console.log(`processor latency ${latencyMs} ms per call; RECONCILIATION_LOOKUPS_IN_FLIGHT ${lookups.join(', ')}, alternating`);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) console.log(row.map((cell, column) => cell.padStart(widths[column]!)).join('  '));
  return 0;
}

async function measured(deps: Parameters<typeof runReconciliation>[0], size: number, scenario: string, inFlight: number): Promise<string[]> {
  const started = performance.now();
  const finished = await runReconciliation(deps, { trigger: 'COMMAND' });
  const ms = performance.now() - started;
  if (finished.status !== 'SUCCEEDED') throw new Error(`the run failed: ${finished.error}`);
  return [String(size), scenario, String(inFlight), String(finished.processorCalls), ms.toFixed(0), String(finished.invoicesChecked), String(finished.paymentsRepaired), String(finished.mismatchesFound)];
}

/** N captured, agreeing payments: the ledger's rows in a few set-based statements, the processor's through its seeder. */
async function seed(db: Parameters<typeof runReconciliation>[0]['db'], gateway: SyntheticGateway, size: number, at: Date): Promise<void> {
  const when = sql`${at.toISOString()}::timestamptz`;
  await db.execute(sql`
    WITH workspace AS (INSERT INTO workspaces (name, slug, billing_pilot) VALUES ('bench', 'bench', true) RETURNING id),
    created AS (
      INSERT INTO invoices (workspace_id, number, currency, amount_due, amount_captured, payment_intent_id, external_processor_id, captured_at, settled_at, created_at, updated_at, reconciled_at)
      SELECT workspace.id, 'INV-' || n, 'USD', 10000, 10000, 'pi_bench_' || n, 'ch_bench_' || n, ${when}, ${when}, ${when}, ${when}, ${when}
      FROM workspace, generate_series(0, ${size - 1}::int) n
      RETURNING id, payment_intent_id
    ),
    lines AS (
      INSERT INTO invoice_adjustments (invoice_id, kind, amount, currency, source, processor_object_id, processor_movement_id, created_at)
      SELECT id, 'CAPTURE', 10000, 'USD', 'RECONCILIATION', replace(payment_intent_id, 'pi_', 'ch_'), replace(payment_intent_id, 'pi_', 'ch_') || ':captured:10000', ${when}
      FROM created RETURNING id, invoice_id
    )
    INSERT INTO invoice_timeline_events (invoice_id, type, source, occurred_at, adjustment_id, dedupe_key)
    SELECT invoice_id, 'CAPTURE_SUCCEEDED', 'RECONCILIATION', ${when}, id, 'adjustment:' || id FROM lines`);
  const invoices = await db.execute<{ id: string; payment_intent_id: string }>(sql`SELECT id, payment_intent_id FROM invoices`);
  await gateway.seedPayments(invoices.map((invoice) => ({ paymentIntentId: invoice.payment_intent_id, invoiceId: invoice.id, currency: 'USD', amountCaptured: 10_000, capturedAt: at })));
  await db.execute(sql`VACUUM ANALYZE`);
}
