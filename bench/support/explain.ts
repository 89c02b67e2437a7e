import type postgres from 'postgres';

/** One scan node of a plan: what it read, through which index, and how many rows it kept or dropped. */
export type PlanScan = {
  node: string;
  relation: string | undefined;
  index: string | undefined;
  /** Actual rows over all loops, rounded (PostgreSQL 18 reports a per-loop average); 0 for a plan only. */
  rows: number;
  /** The planner's estimate of `rows` (per loop × loops). */
  estimated: number;
  removedByFilter: number;
};

export type ExplainedStatement = {
  /** EXPLAIN output in text form. */
  text: string;
  scans: PlanScan[];
  /** Shared buffers hit and read by the whole statement (ANALYZE only). */
  buffers: number;
  /** Execution time reported by EXPLAIN ANALYZE (ms; NaN for a plan only). */
  ms: number;
};

type PlanNode = {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Plan Rows'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
};

/**
 * EXPLAIN (ANALYZE, BUFFERS) of a statement as the application sent it: its exact text with `$n`
 * placeholders and the same parameters (bound, so the planner sees their values as it did for the
 * application's statement). Runs the statement: use it for reads only.
 */
export async function explainAnalyze(sql: postgres.Sql, statement: string, params: readonly unknown[]): Promise<ExplainedStatement> {
  const bound = params as postgres.ParameterOrJSON<never>[];
  const [json] = await sql.unsafe<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }[]>(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement}`,
    bound,
  );
  const text = await sql.unsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN (ANALYZE, BUFFERS) ${statement}`, bound);
  const { Plan: plan, 'Execution Time': ms } = json!['QUERY PLAN'][0];
  return {
    text: text.map((row) => row['QUERY PLAN']).join('\n'),
    scans: scansOf(plan),
    buffers: (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0),
    ms,
  };
}

/**
 * The generic plan of a statement (`EXPLAIN (GENERIC_PLAN)`, PostgreSQL 16+): what a prepared statement
 * runs once the plan cache stops planning for each set of parameter values (or always, with
 * `plan_cache_mode = force_generic_plan`). Nothing is executed.
 */
export async function explainGeneric(sql: postgres.Sql, statement: string): Promise<ExplainedStatement> {
  const [json] = await sql.unsafe<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(`EXPLAIN (GENERIC_PLAN, FORMAT JSON) ${statement}`).simple();
  const text = await sql.unsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN (GENERIC_PLAN) ${statement}`).simple();
  return {
    text: text.map((row) => row['QUERY PLAN']).join('\n'),
    scans: scansOf(json!['QUERY PLAN'][0].Plan),
    buffers: Number.NaN,
    ms: Number.NaN,
  };
}

function scansOf(node: PlanNode): PlanScan[] {
  const own = /Scan/.test(node['Node Type'])
    ? [
        {
          node: node['Node Type'],
          relation: node['Relation Name'],
          index: node['Index Name'],
          rows: Math.round((node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1)),
          estimated: Math.round((node['Plan Rows'] ?? 0) * (node['Actual Loops'] ?? 1)),
          removedByFilter: node['Rows Removed by Filter'] ?? 0,
        },
      ]
    : [];
  return [...own, ...(node.Plans ?? []).flatMap(scansOf)];
}

/** "Index Scan using x (3 rows, est. 2), Seq Scan on u (0 rows, est. 1, 1000 removed by filter)": one line per plan. */
export function describeScans(scans: PlanScan[], withRows = true): string {
  return scans
    .map((scan) => {
      const where = `${scan.node}${scan.index ? ` using ${scan.index}` : ''}${scan.relation && !scan.index ? ` on ${scan.relation}` : ''}`;
      if (!withRows) return where;
      const removed = scan.removedByFilter ? `, ${scan.removedByFilter} removed by filter` : '';
      return `${where} (${scan.rows} rows, est. ${scan.estimated}${removed})`;
    })
    .join(' + ');
}

/** Relations a plan reads with a sequential scan (every row of the table, whatever needs work). */
export const sequentialScans = (scans: PlanScan[]): string[] =>
  scans.filter((scan) => scan.node === 'Seq Scan' && scan.relation).map((scan) => scan.relation!);
