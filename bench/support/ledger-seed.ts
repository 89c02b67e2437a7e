import { performance } from 'node:perf_hooks';
import type postgres from 'postgres';

export type LedgerSeedOptions = {
  /** Invoices to write. */
  invoices: number;
  /** Every timestamp written is before this instant (the newest about 23 hours before it). */
  now: Date;
  /** Invoices are spread over this many workspaces (default 4). */
  workspaces?: number;
  /** Called between statements, for progress lines. */
  log?: (message: string) => void;
};

export type LedgerSeed = {
  invoices: number;
  /** OPEN invoices (nothing captured): 10%, a fifth of them with a declined (FAILED) capture attempt. */
  open: number;
  /** CAPTURED, settled and already reconciled: 90%. */
  captured: number;
  attempts: number;
  adjustments: number;
  timelineEvents: number;
  workspaceIds: string[];
  /** The newest timestamp written (every row is older). */
  newest: Date;
  /** Seconds per phase: insert, VACUUM ANALYZE, CHECKPOINT. */
  seconds: { insert: number; vacuum: number; checkpoint: number };
};

/**
 * Bulk-writes a healthy, consistent and *old* ledger with `INSERT … SELECT … FROM generate_series`
 * (a handful of statements, no row-by-row round trips), shaped like what the live paths write:
 *
 * - 10% OPEN invoices (`n % 10 = 0`), a fifth of them with a FAILED capture attempt and its
 *   CAPTURE_REQUESTED / CAPTURE_FAILED events;
 * - 90% CAPTURED invoices: captured 1 h after creation, settled a day later, `reconciled_at = updated_at`
 *   (the last reconciliation matched them), each with one CAPTURE ledger line, its `adjustment:<id>`
 *   timeline event (as src/domain/ledger/adjustment-timeline.ts builds it) and its PAYMENT_SETTLED event.
 *   7 in 9 came through the API (a SUCCEEDED payment attempt, unique `payment_attempt_id` on the line,
 *   CAPTURE_REQUESTED event); 2 in 9 through a webhook (no attempt, `payment_attempt_id` null);
 * - every invoice has its INVOICE_CREATED event.
 *
 * Timestamps run from 90 days to 2 days before `now` (creation), in order of `n`. Totals equal their
 * ledger lines, so `verifyLedger` passes on the result.
 *
 * The load runs with `session_replication_role = replica` on two connections of its own: foreign-key
 * triggers do not fire (the rows are consistent by construction; `verifyLedger` checks the ledger
 * afterwards), so the inserts are independent and the two connections share them, which keeps a
 * million-invoice load within a couple of minutes on two cores. Indexes stay in place (no drop/recreate),
 * then VACUUM ANALYZE and a CHECKPOINT, so measurements start from a settled, analysed table.
 */
export async function seedLedger(sql: postgres.Sql, options: LedgerSeedOptions): Promise<LedgerSeed> {
  const log = options.log ?? (() => {});
  const total = options.invoices;
  const workspaceCount = options.workspaces ?? 4;
  if (!Number.isInteger(total) || total < 10) throw new RangeError(`invoices must be a whole number ≥ 10, got ${total}`);
  const now = options.now.toISOString();

  const connection = await sql.reserve();
  const started = performance.now();
  try {
    await connection`SET session_replication_role = replica`;
    await connection`SET synchronous_commit = off`;
    await connection`SET maintenance_work_mem = '256MB'`;
    // Scans of the staging table start at its beginning, so rows go in in the order of their timestamps.
    await connection`SET synchronize_seqscans = off`;
    const workspaces = await connection<{ id: string }[]>`
      INSERT INTO workspaces (name, slug, billing_pilot, created_at)
      SELECT 'Bench workspace ' || w, 'bench-' || w || '-' || substr(md5(random()::text), 1, 8), false, ${now}::timestamptz - interval '120 days'
      FROM generate_series(1, ${workspaceCount}) w
      RETURNING id`;
    const workspaceIds = workspaces.map((row) => row.id);

    // One row per invoice with every value the inserts below share (ids, amounts, times), computed once.
    log(`seed: staging ${total} invoices…`);
    await connection`DROP TABLE IF EXISTS bench_seed`;
    await connection`
      CREATE UNLOGGED TABLE bench_seed AS
      SELECT n,
             gen_random_uuid() AS invoice_id,
             (${workspaceIds}::uuid[])[1 + n % ${workspaceCount}] AS workspace_id,
             n % 10 <> 0 AS captured,
             n % 10 BETWEEN 1 AND 7 AS via_api,
             n % 50 = 0 AS declined,
             1000 + (n * 7919) % 99000 AS amount,
             created_at,
             created_at + interval '1 hour' AS captured_at,
             created_at + interval '25 hours' AS settled_at,
             CASE WHEN n % 10 BETWEEN 1 AND 7 OR n % 50 = 0 THEN gen_random_uuid() END AS attempt_id,
             CASE WHEN n % 10 <> 0 THEN gen_random_uuid() END AS adjustment_id
      FROM generate_series(1, ${total}::bigint) n,
           LATERAL (SELECT ${now}::timestamptz - interval '90 days' + (n::float8 / ${total}) * interval '88 days' AS created_at) t`;

    // The inserts are independent of each other (foreign-key triggers are off): two connections work
    // through them, the timeline (the biggest table) in chunks of invoices, so both cores stay busy.
    const chunks = Math.max(1, Math.min(8, Math.ceil(total / 125_000)));
    const range = (index: number) => [Math.floor((total * index) / chunks) + 1, Math.floor((total * (index + 1)) / chunks)] as const;
    const tasks: { name: string; run: (db: postgres.ReservedSql) => Promise<unknown> }[] = [
      { name: 'invoices', run: (db) => db`
      INSERT INTO invoices (id, workspace_id, number, currency, amount_due, amount_captured, amount_refunded,
                            payment_intent_id, external_processor_id, captured_at, settled_at, reconciled_at, created_at, updated_at)
      SELECT invoice_id, workspace_id, 'INV-' || n, 'USD', amount,
             CASE WHEN captured THEN amount ELSE 0 END, 0,
             CASE WHEN captured THEN 'pi_bench_' || n END,
             CASE WHEN captured THEN 'ch_bench_' || n END,
             CASE WHEN captured THEN captured_at END,
             CASE WHEN captured THEN settled_at END,
             CASE WHEN captured THEN settled_at END,
             created_at,
             CASE WHEN captured THEN settled_at ELSE created_at END
      FROM bench_seed` },
      { name: 'payment attempts', run: (db) => db`
      INSERT INTO payment_attempts (id, invoice_id, kind, status, amount, currency, idempotency_key, request_hash,
                                    processor_object_id, error_code, error_message, created_at, completed_at, metadata)
      SELECT attempt_id, invoice_id, 'CAPTURE', CASE WHEN captured THEN 'SUCCEEDED' ELSE 'FAILED' END, amount, 'USD',
             'bench-' || n, md5('capture:' || n),
             CASE WHEN captured THEN 'ch_bench_' || n END,
             CASE WHEN captured THEN NULL ELSE 'card_declined' END,
             CASE WHEN captured THEN NULL ELSE 'Your card was declined.' END,
             captured_at - interval '1 second', captured_at, '{"finalCapture": true}'::jsonb
      FROM bench_seed WHERE attempt_id IS NOT NULL` },
      { name: 'ledger lines', run: (db) => db`
      INSERT INTO invoice_adjustments (id, invoice_id, kind, amount, currency, source, payment_attempt_id, processor_object_id, created_at)
      SELECT adjustment_id, invoice_id, 'CAPTURE', amount, 'USD', CASE WHEN via_api THEN 'API' ELSE 'WEBHOOK' END,
             CASE WHEN via_api THEN attempt_id END, 'ch_bench_' || n, captured_at
      FROM bench_seed WHERE captured` },
      ...Array.from({ length: chunks }, (_, index) => {
        const [from, to] = range(index);
        return { name: `timeline events ${index + 1}/${chunks}`, run: (db: postgres.ReservedSql) => db`
      INSERT INTO invoice_timeline_events (invoice_id, type, source, occurred_at, data, adjustment_id, payment_attempt_id, dedupe_key)
      SELECT e.* FROM bench_seed s, LATERAL (
        SELECT s.invoice_id, 'INVOICE_CREATED', 'API', s.created_at,
               jsonb_build_object('amountDue', s.amount, 'currency', 'USD', 'number', 'INV-' || s.n), NULL::uuid, NULL::uuid,
               'invoice:' || s.invoice_id || ':created'
        UNION ALL
        SELECT s.invoice_id, 'CAPTURE_REQUESTED', 'API', s.captured_at - interval '1 second',
               jsonb_build_object('amount', s.amount, 'currency', 'USD'), NULL, s.attempt_id,
               'attempt:' || s.attempt_id || ':requested'
        WHERE s.attempt_id IS NOT NULL
        UNION ALL
        SELECT s.invoice_id, 'CAPTURE_FAILED', 'API', s.captured_at,
               jsonb_build_object('amount', s.amount, 'currency', 'USD', 'declineCode', 'card_declined', 'message', 'Your card was declined.'),
               NULL, s.attempt_id, 'attempt:' || s.attempt_id || ':failed'
        WHERE s.declined
        UNION ALL
        SELECT s.invoice_id, 'CAPTURE_SUCCEEDED', CASE WHEN s.via_api THEN 'API' ELSE 'WEBHOOK' END, s.captured_at,
               jsonb_build_object('amount', s.amount, 'currency', 'USD', 'processorObjectId', 'ch_bench_' || s.n,
                                  'chargeId', 'ch_bench_' || s.n, 'paymentIntentId', 'pi_bench_' || s.n),
               s.adjustment_id, CASE WHEN s.via_api THEN s.attempt_id END,
               'adjustment:' || s.adjustment_id
        WHERE s.captured
        UNION ALL
        SELECT s.invoice_id, 'PAYMENT_SETTLED', CASE WHEN s.via_api THEN 'API' ELSE 'WEBHOOK' END, s.settled_at,
               jsonb_build_object('settledObjectId', 'ch_bench_' || s.n), NULL, NULL,
               'settlement:' || s.invoice_id || ':ch_bench_' || s.n
        WHERE s.captured
      ) e(invoice_id, type, source, occurred_at, data, adjustment_id, payment_attempt_id, dedupe_key)
      WHERE s.n BETWEEN ${from} AND ${to}` };
      }),
    ];
    const second = await sql.reserve();
    try {
      await second`SET session_replication_role = replica`;
      await second`SET synchronous_commit = off`;
      await second`SET synchronize_seqscans = off`;
      const queue = [...tasks];
      const lane = async (db: postgres.ReservedSql) => {
        for (let task = queue.shift(); task; task = queue.shift()) {
          log(`seed: ${task.name}…`);
          await task.run(db);
        }
      };
      await Promise.all([lane(connection), lane(second)]);
    } finally {
      second.release();
    }

    const [counts] = await connection<{ open: string; captured: string; attempts: string; adjustments: string; events: string; newest: Date }[]>`
      SELECT (SELECT count(*) FROM bench_seed WHERE NOT captured) AS open,
             (SELECT count(*) FROM bench_seed WHERE captured) AS captured,
             (SELECT count(*) FROM payment_attempts) AS attempts,
             (SELECT count(*) FROM invoice_adjustments) AS adjustments,
             (SELECT count(*) FROM invoice_timeline_events) AS events,
             (SELECT max(settled_at) FROM bench_seed) AS newest`;
    await connection`DROP TABLE bench_seed`;
    await connection`RESET session_replication_role`;
    const inserted = performance.now();

    log('seed: VACUUM ANALYZE…');
    await connection`VACUUM ANALYZE`;
    const vacuumed = performance.now();
    await connection`CHECKPOINT`;
    const checkpointed = performance.now();

    return {
      invoices: total,
      open: Number(counts!.open),
      captured: Number(counts!.captured),
      attempts: Number(counts!.attempts),
      adjustments: Number(counts!.adjustments),
      timelineEvents: Number(counts!.events),
      workspaceIds,
      newest: counts!.newest,
      seconds: { insert: (inserted - started) / 1000, vacuum: (vacuumed - inserted) / 1000, checkpoint: (checkpointed - vacuumed) / 1000 },
    };
  } finally {
    connection.release();
  }
}
