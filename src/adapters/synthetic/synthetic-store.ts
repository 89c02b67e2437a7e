import type postgres from 'postgres';
import type { PaymentState, ProcessorRefund, RefundReason, SettlementRecord } from '../../domain/gateway/billing-gateway-client.js';
import { syntheticId } from './synthetic-ids.js';

/**
 * The synthetic processor's rows (schema `synthetic_gateway`, see synthetic-schema.ts) and the
 * statements over them. Times are the gateway's clock, passed in, never the database's `now()`, so a
 * test's clock governs settlement and key expiry. Money-moving writes expect the intent locked
 * (`lockIntent`) in the caller's transaction: that lock is what keeps concurrent captures and refunds
 * of one payment from going past what it allows.
 */

export type Intent = {
  id: string;
  invoiceId: string | null;
  currency: string;
  authorizedAmount: number | null;
  amountCaptured: number;
  amountRefunded: number;
  finalCaptured: boolean;
  latestChargeId: string | null;
  capturedAt: Date | null;
};

type IntentRow = Omit<Intent, 'authorizedAmount' | 'amountCaptured' | 'amountRefunded'> & {
  authorizedAmount: string | null;
  amountCaptured: string;
  amountRefunded: string;
};

type RefundRow = Omit<ProcessorRefund, 'amount' | 'reason'> & { amount: string; reason: string };

/** bigint columns come back from postgres.js as strings; amounts are bounded to 2^53-1, like the app's. */
export function amountOf(value: string | number): number {
  const amount = Number(value);
  if (!Number.isSafeInteger(amount)) throw new RangeError(`amount ${value} is not a safe integer`);
  return amount;
}

function intentOf(row: IntentRow): Intent {
  return {
    ...row,
    authorizedAmount: row.authorizedAmount === null ? null : amountOf(row.authorizedAmount),
    amountCaptured: amountOf(row.amountCaptured),
    amountRefunded: amountOf(row.amountRefunded),
  };
}

function refundOf(row: RefundRow): ProcessorRefund {
  return { ...row, amount: amountOf(row.amount), reason: row.reason as RefundReason };
}

const INTENT_COLUMNS = `
  id, invoice_id AS "invoiceId", currency, authorized_amount AS "authorizedAmount",
  amount_captured AS "amountCaptured", amount_refunded AS "amountRefunded", final_captured AS "finalCaptured",
  latest_charge_id AS "latestChargeId", captured_at AS "capturedAt"`;

const REFUND_COLUMNS = `
  r.id, r.payment_intent_id AS "paymentIntentId", r.charge_id AS "chargeId", r.amount, p.currency, r.status,
  r.attempt_id AS "attemptId", r.reason, r.failure_reason AS "failureReason", r.created_at AS "createdAt"`;

/** Creates the payment intent unless it exists (a concurrent creator wins; the caller then locks it). */
export async function ensureIntent(
  sql: postgres.ISql,
  intent: { id: string; invoiceId: string | null; currency: string; authorizedAmount: number | null; at: Date },
): Promise<void> {
  await sql`
    INSERT INTO synthetic_gateway.payment_intents (id, invoice_id, currency, authorized_amount, created_at, last_activity_at)
    VALUES (${intent.id}, ${intent.invoiceId}, ${intent.currency}, ${intent.authorizedAmount}, ${intent.at}, ${intent.at})
    ON CONFLICT (id) DO NOTHING`;
}

/** The intent, row-locked until the caller's transaction ends; undefined when the processor does not know it. */
export async function lockIntent(sql: postgres.ISql, id: string): Promise<Intent | undefined> {
  const [row] = await sql.unsafe<IntentRow[]>(`SELECT ${INTENT_COLUMNS} FROM synthetic_gateway.payment_intents WHERE id = $1 FOR UPDATE`, [id]);
  return row && intentOf(row);
}

/**
 * Ids derive from the idempotency key, so a lost answer, a test and a log line agree on them. A key the
 * processor forgot and then saw again makes a second object: its id derives from the key and a count.
 */
async function seedFor(sql: postgres.ISql, table: 'captures' | 'refunds', attemptId: string): Promise<string> {
  const [{ count }] = await sql.unsafe<[{ count: number }]>(
    `SELECT count(*)::int AS count FROM synthetic_gateway.${table} WHERE attempt_id = $1`,
    [attemptId],
  );
  return count === 0 ? attemptId : `${attemptId}#${count}`;
}

export async function insertCapture(
  sql: postgres.ISql,
  intent: Intent,
  capture: { attemptId: string; amount: number; finalCapture: boolean; at: Date; availableOn: Date },
): Promise<{ chargeId: string; capturedTotal: number }> {
  const seed = await seedFor(sql, 'captures', capture.attemptId);
  const chargeId = syntheticId('ch_syn_', seed);
  await sql`
    INSERT INTO synthetic_gateway.captures (id, payment_intent_id, attempt_id, amount, captured_at)
    VALUES (${chargeId}, ${intent.id}, ${capture.attemptId}, ${capture.amount}, ${capture.at})`;
  await insertLine(sql, { id: syntheticId('txn_syn_', seed), paymentIntentId: intent.id, sourceId: chargeId, type: 'charge', amount: capture.amount, availableOn: capture.availableOn });
  const [{ capturedTotal }] = await sql<[{ capturedTotal: string }]>`
    UPDATE synthetic_gateway.payment_intents
    SET amount_captured = amount_captured + ${capture.amount},
        captured_at = ${capture.at},
        final_captured = ${capture.finalCapture},
        latest_charge_id = ${chargeId},
        last_activity_at = greatest(last_activity_at, ${capture.at})
    WHERE id = ${intent.id}
    RETURNING amount_captured AS "capturedTotal"`;
  return { chargeId, capturedTotal: amountOf(capturedTotal) };
}

export async function insertRefund(
  sql: postgres.ISql,
  intent: Intent,
  refund: { attemptId: string | null; amount: number; reason: RefundReason; at: Date; availableOn: Date },
): Promise<ProcessorRefund> {
  const seed = refund.attemptId ? await seedFor(sql, 'refunds', refund.attemptId) : await outsideSeed(sql, intent.id);
  const id = syntheticId('re_syn_', seed);
  await sql`
    INSERT INTO synthetic_gateway.refunds (id, payment_intent_id, charge_id, amount, status, attempt_id, reason, created_at)
    VALUES (${id}, ${intent.id}, ${intent.latestChargeId}, ${refund.amount}, 'succeeded', ${refund.attemptId}, ${refund.reason}, ${refund.at})`;
  await insertLine(sql, { id: syntheticId('txn_syn_', seed), paymentIntentId: intent.id, sourceId: id, type: 'refund', amount: -refund.amount, availableOn: refund.availableOn });
  await sql`
    UPDATE synthetic_gateway.payment_intents
    SET amount_refunded = amount_refunded + ${refund.amount}, last_activity_at = greatest(last_activity_at, ${refund.at})
    WHERE id = ${intent.id}`;
  return {
    id,
    paymentIntentId: intent.id,
    chargeId: intent.latestChargeId,
    amount: refund.amount,
    currency: intent.currency,
    status: 'succeeded',
    attemptId: refund.attemptId,
    reason: refund.reason,
    failureReason: null,
    createdAt: refund.at,
  };
}

/** A refund made outside the service has no key: its id derives from its payment intent and its rank there. */
async function outsideSeed(sql: postgres.ISql, paymentIntentId: string): Promise<string> {
  const [{ count }] = await sql<[{ count: number }]>`
    SELECT count(*)::int AS count FROM synthetic_gateway.refunds WHERE payment_intent_id = ${paymentIntentId}`;
  return `outside:${count}:${paymentIntentId}`;
}

async function insertLine(
  sql: postgres.ISql,
  line: { id: string; paymentIntentId: string; sourceId: string; type: 'charge' | 'refund'; amount: number; availableOn: Date },
): Promise<void> {
  await sql`
    INSERT INTO synthetic_gateway.settlement_lines (id, payment_intent_id, source_id, type, amount, available_on)
    VALUES (${line.id}, ${line.paymentIntentId}, ${line.sourceId}, ${line.type}, ${line.amount}, ${line.availableOn})`;
}

/**
 * The processor reports a refund failed after the fact: the money stays with the merchant, so it is
 * refundable again and its line leaves the statement. False when it had failed already.
 */
export async function markRefundFailed(sql: postgres.ISql, refundId: string, failureReason: string, at: Date): Promise<boolean | undefined> {
  const [found] = await sql<[{ paymentIntentId: string }?]>`
    SELECT payment_intent_id AS "paymentIntentId" FROM synthetic_gateway.refunds WHERE id = ${refundId}`;
  if (!found) return undefined;
  await lockIntent(sql, found.paymentIntentId);
  const [failed] = await sql<[{ amount: string }?]>`
    UPDATE synthetic_gateway.refunds SET status = 'failed', failure_reason = ${failureReason}
    WHERE id = ${refundId} AND status IN ('succeeded', 'pending')
    RETURNING amount`;
  if (!failed) return false;
  await sql`DELETE FROM synthetic_gateway.settlement_lines WHERE source_id = ${refundId}`;
  await sql`
    UPDATE synthetic_gateway.payment_intents
    SET amount_refunded = amount_refunded - ${amountOf(failed.amount)}, last_activity_at = greatest(last_activity_at, ${at})
    WHERE id = ${found.paymentIntentId}`;
  return true;
}

/** One payment as the processor holds it; read in one snapshot by the caller. */
export async function readPayment(
  sql: postgres.ISql,
  paymentIntentId: string,
): Promise<(Omit<PaymentState, 'status' | 'settledAt'> & { finalCaptured: boolean; latestChargeAvailableOn: Date | null }) | null> {
  const [row] = await sql.unsafe<(IntentRow & { captureAttemptIds: string[]; latestChargeAvailableOn: Date | null })[]>(
    `SELECT ${INTENT_COLUMNS},
       (SELECT coalesce(array_agg(c.attempt_id ORDER BY c.seq), '{}') FROM synthetic_gateway.captures c
         WHERE c.payment_intent_id = p.id) AS "captureAttemptIds",
       (SELECT l.available_on FROM synthetic_gateway.settlement_lines l
         WHERE l.payment_intent_id = p.id AND l.type = 'charge' ORDER BY l.seq DESC LIMIT 1) AS "latestChargeAvailableOn"
     FROM synthetic_gateway.payment_intents p WHERE p.id = $1`,
    [paymentIntentId],
  );
  if (!row) return null;
  const refunds = await sql.unsafe<RefundRow[]>(
    `SELECT ${REFUND_COLUMNS}
     FROM synthetic_gateway.refunds r JOIN synthetic_gateway.payment_intents p ON p.id = r.payment_intent_id
     WHERE r.payment_intent_id = $1 ORDER BY r.seq`,
    [paymentIntentId],
  );
  const intent = intentOf(row);
  return {
    paymentIntentId: intent.id,
    currency: intent.currency,
    invoiceId: intent.invoiceId,
    chargeId: intent.latestChargeId,
    amountCaptured: intent.amountCaptured,
    capturedAt: intent.capturedAt,
    captureAttemptIds: row.captureAttemptIds,
    refunds: refunds.map(refundOf),
    finalCaptured: intent.finalCaptured,
    latestChargeAvailableOn: row.latestChargeAvailableOn,
  };
}

/** Through the index on `last_activity_at`: the cost follows the payments touched since, not the table. */
export async function activitySince(sql: postgres.ISql, since: Date): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM synthetic_gateway.payment_intents WHERE last_activity_at >= ${since} ORDER BY last_activity_at, id`;
  return rows.map((row) => row.id);
}

/** The lines available by `now`, payment by payment in the order asked, each payment's in the order they were made. */
export async function settlementLines(sql: postgres.ISql, paymentIntentIds: readonly string[], now: Date): Promise<SettlementRecord[]> {
  if (paymentIntentIds.length === 0) return [];
  const rows = await sql<(Omit<SettlementRecord, 'amount'> & { amount: string })[]>`
    SELECT l.payment_intent_id AS "paymentIntentId", l.id, l.type, l.amount, p.currency, l.available_on AS "availableOn"
    FROM synthetic_gateway.settlement_lines l JOIN synthetic_gateway.payment_intents p ON p.id = l.payment_intent_id
    WHERE l.payment_intent_id = ANY(${paymentIntentIds as string[]}::text[]) AND l.available_on <= ${now}
    ORDER BY array_position(${paymentIntentIds as string[]}::text[], l.payment_intent_id), l.seq`;
  return rows.map((row) => ({ ...row, amount: amountOf(row.amount) }));
}

export async function settleLinesNow(sql: postgres.ISql, paymentIntentId: string, now: Date): Promise<void> {
  await sql`
    UPDATE synthetic_gateway.settlement_lines SET available_on = ${now}
    WHERE payment_intent_id = ${paymentIntentId} AND available_on > ${now}`;
}

/** What `ledger verify` compares the ledger with: per payment, what the processor captured and refunded. */
export type PaymentTotals = {
  paymentIntentId: string;
  invoiceId: string | null;
  currency: string;
  /** What the processor captured on the payment. */
  captured: number;
  /** The sum of its succeeded (and pending) refunds: money that left. */
  refunded: number;
  /** Those refunds' ids, oldest first. */
  refundIds: string[];
  /** Its refunds that failed or were canceled after they were made (the money came back), oldest first. */
  failedRefundIds: string[];
};

export async function allPaymentTotals(sql: postgres.ISql): Promise<PaymentTotals[]> {
  const rows = await sql<(Omit<PaymentTotals, 'captured' | 'refunded'> & { captured: string; refunded: string })[]>`
    SELECT p.id AS "paymentIntentId", p.invoice_id AS "invoiceId", p.currency, p.amount_captured AS captured,
      coalesce(sum(r.amount) FILTER (WHERE r.status IN ('succeeded', 'pending')), 0) AS refunded,
      coalesce(array_agg(r.id ORDER BY r.seq) FILTER (WHERE r.status IN ('succeeded', 'pending')), '{}') AS "refundIds",
      coalesce(array_agg(r.id ORDER BY r.seq) FILTER (WHERE r.status IN ('failed', 'canceled')), '{}') AS "failedRefundIds"
    FROM synthetic_gateway.payment_intents p LEFT JOIN synthetic_gateway.refunds r ON r.payment_intent_id = p.id
    GROUP BY p.id
    ORDER BY p.id`;
  return rows.map((row) => ({ ...row, captured: amountOf(row.captured), refunded: amountOf(row.refunded) }));
}
