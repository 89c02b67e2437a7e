import { sql } from 'drizzle-orm';
import { performance } from 'node:perf_hooks';
import type { SyntheticGateway } from '../src/adapters/synthetic/synthetic-gateway.js';
import { reconciliationRuns } from '../src/db/schema/index.js';
import { runReconciliation } from '../src/domain/reconciliation/reconcile.js';
import { startBenchCommand } from './support/command-service.js';
import { wholeNumbers } from './support/options.js';
import { startBenchPostgres } from './support/postgres.js';

export const description = 'reconciliation against a synthetic processor holding N payments: processor calls and time, with and without drift';

const DRIFT = 100;

/**
 * For each size (default 100 and 100,000 payments, all two days old and agreeing), after a successful
 * run 5 minutes ago: one run with nothing new (no drift), then one after DRIFT refunds made in the
 * processor's dashboard (drift the ledger must repair). Prints processor calls, statements' wall time
 * and what each run found, side by side: calls and time follow the activity, not the size.
 */
export async function run(argv: string[]): Promise<number> {
  const sizeFlag = argv.indexOf('--sizes');
  const sizes = sizeFlag >= 0 ? wholeNumbers('--sizes', argv[sizeFlag + 1] ?? '', 1, 1_000_000) : [100, 100_000];
  const rows: string[][] = [['payments', 'scenario', 'processor calls', 'ms', 'checked', 'repaired', 'mismatches']];
  for (const size of sizes) {
    const postgres = await startBenchPostgres();
    // Seeding 100,000 payments takes longer than a request may.
    const service = await startBenchCommand(postgres.url, { PENDING_ATTEMPT_GRACE_SECONDS: '0', DB_STATEMENT_TIMEOUT_MS: '600000' });
    try {
      const gateway = service.deps.gateway as SyntheticGateway;
      const seededAt = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await seed(service.deps.db, gateway, size, seededAt);
      await service.deps.db.insert(reconciliationRuns).values({ trigger: 'COMMAND', status: 'SUCCEEDED', startedAt: new Date(Date.now() - 5 * 60_000), finishedAt: new Date() });

      rows.push(await measured(service.deps, size, 'no drift'));
      for (let n = 0; n < Math.min(DRIFT, size); n++) await gateway.refundOutside(`pi_bench_${n * Math.floor(size / Math.min(DRIFT, size))}`, 100);
      rows.push(await measured(service.deps, size, `${Math.min(DRIFT, size)} dashboard refunds`));
    } finally {
      await service.stop();
      await postgres.stop();
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) console.log(row.map((cell, column) => cell.padStart(widths[column]!)).join('  '));
  return 0;
}

async function measured(deps: Parameters<typeof runReconciliation>[0], size: number, scenario: string): Promise<string[]> {
  const started = performance.now();
  const finished = await runReconciliation(deps, { trigger: 'COMMAND' });
  const ms = performance.now() - started;
  if (finished.status !== 'SUCCEEDED') throw new Error(`the run failed: ${finished.error}`);
  return [String(size), scenario, String(finished.processorCalls), ms.toFixed(0), String(finished.invoicesChecked), String(finished.paymentsRepaired), String(finished.mismatchesFound)];
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
