import type postgres from 'postgres';

export type StatementStat = { query: string; calls: number; execMs: number };
export type StatementStats = { calls: number; execMs: number; top: StatementStat[]; all: StatementStat[] };

/**
 * Server-side statement timings from pg_stat_statements: reset, then read. BEGIN/COMMIT are left out
 * (pg_stat_statements does not count them reliably under the extended protocol), and so are the
 * foreign-key checks Postgres runs inside the inserts (their time is already in the insert's).
 */
export async function resetStatementStats(sql: postgres.Sql): Promise<void> {
  await sql`SELECT pg_stat_statements_reset()`;
}

export async function readStatementStats(sql: postgres.Sql, top = 8): Promise<StatementStats> {
  const rows = await sql<{ query: string; calls: string; exec_ms: number }[]>`
    SELECT query, calls, total_exec_time AS exec_ms FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query NOT LIKE '%pg_stat_statements%'
      AND query !~* '^\s*(begin|commit|rollback)\s*;?\s*$'
      AND query !~ 'FROM ONLY .* FOR KEY SHARE OF'
    ORDER BY total_exec_time DESC`;
  const stats = rows.map((row) => ({ query: row.query, calls: Number(row.calls), execMs: Number(row.exec_ms) }));
  return {
    calls: stats.reduce((sum, row) => sum + row.calls, 0),
    execMs: stats.reduce((sum, row) => sum + row.execMs, 0),
    top: stats.slice(0, top),
    all: stats,
  };
}
