import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import type { Viewer } from '../../src/domain/auth/viewer.js';
import { captureInvoice } from '../../src/domain/ledger/capture-invoice.js';
import { buildPgbenchScript, type Binding } from '../support/pgbench-script.js';
import { traceStatements, type TracedStatement } from '../support/sql-trace.js';
import { SCENARIOS, type ScenarioName, type Traced } from './scenarios.js';

/**
 * Runs one real capture with statement tracing and derives the pgbench script from it. Parameters that
 * must differ per transaction become variables: the invoice (`inv`), the idempotency key and anything
 * unique built from it (`key`), and the ids the inserts return (`a_id`, `adj_id` via `\gset`).
 */
export async function traceScript(
  url: string,
  deps: Parameters<typeof captureInvoice>[0],
  viewer: Viewer,
  name: ScenarioName,
  invoiceId: string,
): Promise<Traced> {
  const idempotencyKey = randomUUID();
  const { result, statements } = await traceStatements(url, deps, (traced) =>
    captureInvoice(traced, viewer, { invoiceId, amount: SCENARIOS[name].amount, idempotencyKey }),
  );
  const attemptId = result.attempt.id;
  const adjustmentId = result.adjustment?.id;
  const chargeId = result.attempt.processorObjectId;
  if (!adjustmentId || !chargeId) throw new Error('the traced capture did not succeed');

  const bind = (value: unknown): Binding => {
    if (value === invoiceId) return { kind: 'variable', name: 'inv' };
    if (value === attemptId) return { kind: 'variable', name: 'a_id' };
    if (value === adjustmentId) return { kind: 'variable', name: 'adj_id' };
    if (value === idempotencyKey) return { kind: 'variable', name: 'key' };
    // Keys built from those ids (timeline dedupe keys) are unique: give each transaction its own.
    if (typeof value === 'string' && !value.startsWith('{')) {
      if (value.includes(attemptId)) return { kind: 'variable', name: 'a_id' };
      if (value.includes(adjustmentId)) return { kind: 'variable', name: 'adj_id' };
      if (value !== chargeId && value.includes(chargeId)) return { kind: 'variable', name: 'key' };
    }
    return { kind: 'constant' };
  };
  const script = buildPgbenchScript(statements, {
    prelude: [
      '\\set key random(1, 9223372036854775807)',
      ...(name === 'distinct'
        ? ["SELECT id AS inv FROM bench_invoice_pool WHERE k = (SELECT nextval('bench_invoice_pool_seq')) \\gset"]
        : []),
    ],
    bind,
    gsetPrefix: (text) =>
      /^insert into "payment_attempts"/i.test(text) ? 'a_' : /^insert into "invoice_adjustments"/i.test(text) ? 'adj_' : undefined,
  });
  return { script, trace: statements };
}

/** What runs while a capture holds the invoice's row lock (after each `FOR UPDATE OF "invoices"`, to its COMMIT). */
export function underInvoiceLock(trace: TracedStatement[]): { statements: number; commits: number } {
  let locked = false;
  let statements = 0;
  let commits = 0;
  for (const { text } of trace) {
    const isCommit = /^\s*commit\b/i.test(text);
    if (locked) {
      statements++;
      if (isCommit) commits++;
    }
    if (/for update of "invoices"/i.test(text)) locked = true;
    if (isCommit) locked = false;
  }
  return { statements, commits };
}

/** EXPLAIN ANALYZE of the traced "sum of pending attempts" statement, on the given invoice; one line. */
export async function explainReserved(sql: postgres.Sql, trace: TracedStatement[], invoiceId: string): Promise<string> {
  const traced = trace.find((statement) => /coalesce\(sum\(/i.test(statement.text));
  if (!traced) return 'statement not found in the trace';
  const tracedInvoice = traced.params.find((value) => typeof value === 'string' && /^[0-9a-f-]{36}$/.test(value));
  const params = traced.params.map((value) => (value === tracedInvoice ? invoiceId : value)) as postgres.ParameterOrJSON<never>[];
  const [row] = await sql.unsafe<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }[]>(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${traced.text}`,
    params,
  );
  const { Plan: plan, 'Execution Time': ms } = row!['QUERY PLAN'][0];
  const scan = findScan(plan);
  if (!scan) return `${plan['Node Type']}, ${ms.toFixed(2)} ms`;
  return (
    `${scan['Node Type']}${scan['Index Name'] ? ` using ${scan['Index Name']}` : ''}: ${scan['Actual Rows']} rows kept, ` +
    `${scan['Rows Removed by Filter'] ?? 0} removed by filter, ${scan['Shared Hit Blocks'] ?? 0} buffers hit, ${ms.toFixed(2)} ms`
  );
}

type PlanNode = {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Rows Removed by Filter'?: number;
  'Shared Hit Blocks'?: number;
  Plans?: PlanNode[];
};
const findScan = (node: PlanNode): PlanNode | undefined =>
  /Scan/.test(node['Node Type']) ? node : node.Plans?.map(findScan).find(Boolean);

