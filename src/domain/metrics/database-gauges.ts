import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';

/** What the scrape reads from Postgres: the state every process shares, not what this one has counted. */
export type DatabaseGauges = {
  replayBacklog: number;
  /** 0 when the backlog is empty. */
  replayBacklogOldestAgeSeconds: number;
  pendingPaymentAttempts: number;
  /** Unix seconds; 0 when no reconciliation has succeeded yet. */
  reconciliationLastSuccessSeconds: number;
  /** What the last successful run found: mismatches persist, and are found again, until resolved. */
  reconciliationLastRunMismatches: number;
};

/** A slow database must not hold a scrape for longer than Prometheus waits for it (10 s by default). */
const STATEMENT_TIMEOUT_MS = 5_000;

/**
 * One statement per scrape. Each sub-query repeats its partial index's predicate word for word, so
 * Postgres reads only the rows that are waiting: `processor_events_replay_queue_idx` (WHERE
 * replay_requested) and `payment_attempts_pending_idx` (WHERE status IN ('PENDING', 'UNKNOWN')). The
 * reconciliation runs are one row an hour, read newest first through `reconciliation_runs_started_idx`.
 */
export const DATABASE_GAUGES_QUERY = sql`
  SELECT
    (SELECT count(*) FROM processor_events WHERE replay_requested) AS "replayBacklog",
    (SELECT coalesce(extract(epoch FROM now() - min(received_at)), 0) FROM processor_events WHERE replay_requested)
      AS "replayBacklogOldestAgeSeconds",
    (SELECT count(*) FROM payment_attempts WHERE status IN ('PENDING', 'UNKNOWN')) AS "pendingPaymentAttempts",
    coalesce(extract(epoch FROM last_success.finished_at), 0) AS "reconciliationLastSuccessSeconds",
    coalesce(last_success.mismatches_found, 0) AS "reconciliationLastRunMismatches"
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (
    SELECT finished_at, mismatches_found FROM reconciliation_runs WHERE status = 'SUCCEEDED' ORDER BY started_at DESC LIMIT 1
  ) AS last_success ON true
`;

export async function readDatabaseGauges(db: Db): Promise<DatabaseGauges> {
  const rows = await db.transaction(async (tx) => {
    await tx.execute(sql.raw(`SET LOCAL statement_timeout = ${STATEMENT_TIMEOUT_MS}`));
    return tx.execute<Record<keyof DatabaseGauges, string | number | null>>(DATABASE_GAUGES_QUERY);
  });
  const row = rows[0]!;
  return {
    replayBacklog: Number(row.replayBacklog),
    replayBacklogOldestAgeSeconds: Math.max(0, Number(row.replayBacklogOldestAgeSeconds)),
    pendingPaymentAttempts: Number(row.pendingPaymentAttempts),
    reconciliationLastSuccessSeconds: Number(row.reconciliationLastSuccessSeconds),
    reconciliationLastRunMismatches: Number(row.reconciliationLastRunMismatches),
  };
}
