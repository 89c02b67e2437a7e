import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';

export type LedgerViolation = { rule: string; invoiceId: string; detail: string };

/**
 * The ledger's invariants, checked from the rows themselves (`ledger verify`, and after every test):
 * - an invoice's totals equal the sums of its ledger lines, and 0 ≤ refunded ≤ captured ≤ due;
 * - every ledger line has its timeline event, every refund line its refund record, every failed refund
 *   exactly one reversal line;
 * - attempts have the lines their outcome explains (a capture's money may have come in by webhook first);
 * - every line that mirrors processor money names its movement (unique per invoice by constraint).
 */
const RULES: { rule: string; query: ReturnType<typeof sql> }[] = [
  {
    rule: 'totals equal the sum of adjustments',
    query: sql`
      SELECT i.id AS invoice_id,
             format('captured %s vs lines %s, refunded %s vs lines %s', i.amount_captured, coalesce(a.captured, 0), i.amount_refunded, coalesce(a.refunded, 0)) AS detail
      FROM invoices i
      LEFT JOIN (
        SELECT invoice_id,
               sum(amount) FILTER (WHERE kind = 'CAPTURE') AS captured,
               -sum(amount) FILTER (WHERE kind IN ('REFUND', 'REFUND_REVERSAL')) AS refunded
        FROM invoice_adjustments GROUP BY invoice_id
      ) a ON a.invoice_id = i.id
      WHERE i.amount_captured <> coalesce(a.captured, 0) OR i.amount_refunded <> coalesce(a.refunded, 0)`,
  },
  {
    rule: '0 <= refunded <= captured <= due',
    query: sql`
      SELECT id AS invoice_id, format('due %s captured %s refunded %s', amount_due, amount_captured, amount_refunded) AS detail
      FROM invoices WHERE NOT (0 <= amount_refunded AND amount_refunded <= amount_captured AND amount_captured <= amount_due)`,
  },
  {
    rule: 'every adjustment has its timeline event',
    query: sql`
      SELECT a.invoice_id, format('adjustment %s (%s %s) has no timeline event', a.id, a.kind, a.amount) AS detail
      FROM invoice_adjustments a
      WHERE NOT EXISTS (SELECT 1 FROM invoice_timeline_events t WHERE t.adjustment_id = a.id)`,
  },
  {
    rule: 'every refund adjustment has its refund record',
    query: sql`
      SELECT a.invoice_id, format('refund adjustment %s has %s refund records', a.id, count(r.id)) AS detail
      FROM invoice_adjustments a LEFT JOIN refunds r ON r.adjustment_id = a.id
      WHERE a.kind = 'REFUND' GROUP BY a.id, a.invoice_id HAVING count(r.id) <> 1`,
  },
  {
    rule: 'failed refunds are reversed exactly once, for their amount',
    query: sql`
      SELECT r.invoice_id, format('refund %s (failed at %s) has %s reversal lines for %s', r.processor_refund_id, r.failed_at, count(a.id), r.amount) AS detail
      FROM refunds r
      LEFT JOIN invoice_adjustments a ON a.kind = 'REFUND_REVERSAL' AND a.processor_object_id = r.processor_refund_id
      GROUP BY r.id
      HAVING (r.failed_at IS NOT NULL AND (count(a.id) <> 1 OR sum(a.amount) <> r.amount))
          OR (r.failed_at IS NULL AND count(a.id) <> 0)`,
  },
  {
    // A capture attempt's money may have been recorded first by a webhook (its line then belongs to
    // the event): a succeeded capture has at most one line, never more than it asked for. A refund is
    // recorded once by its processor id, whoever saw it first, and carries its attempt.
    rule: 'attempts have the ledger lines their outcome explains',
    query: sql`
      SELECT p.invoice_id, format('%s attempt %s is %s with %s ledger lines for %s', p.kind, p.id, p.status, count(a.id), coalesce(abs(sum(a.amount)), 0)) AS detail
      FROM payment_attempts p LEFT JOIN invoice_adjustments a ON a.payment_attempt_id = p.id
      GROUP BY p.id
      HAVING (p.status IN ('PENDING', 'UNKNOWN') AND count(a.id) <> 0)
          OR (p.kind = 'CAPTURE' AND (count(a.id) > 1 OR coalesce(sum(a.amount), 0) > p.amount OR (p.status <> 'SUCCEEDED' AND count(a.id) <> 0)))
          OR (p.kind = 'REFUND' AND p.status = 'SUCCEEDED' AND (count(a.id) <> 1 OR abs(sum(a.amount)) <> p.amount))
          OR (p.kind = 'REFUND' AND p.status = 'FAILED' AND count(a.id) > 1)`,
  },
  {
    rule: 'lines that mirror processor money name the movement',
    query: sql`
      SELECT invoice_id, format('%s line %s carries no processor movement id', kind, id) AS detail
      FROM invoice_adjustments WHERE processor_movement_id IS NULL`,
  },
];

export async function verifyLedger(db: DbOrTx): Promise<LedgerViolation[]> {
  const violations: LedgerViolation[] = [];
  for (const { rule, query } of RULES) {
    const rows = await db.execute<{ invoice_id: string; detail: string }>(query);
    for (const row of rows) violations.push({ rule, invoiceId: row.invoice_id, detail: row.detail });
  }
  return violations;
}
