import type postgres from 'postgres';
import { syntheticId } from './synthetic-ids.js';

/**
 * A payment to load straight into the synthetic processor, for benchmarks that need a processor holding
 * many payments (100,000 for reconciliation): one final capture, optionally one refund after it.
 */
export type SeedPayment = {
  paymentIntentId: string;
  invoiceId: string | null;
  /** ISO 4217, upper case. */
  currency: string;
  amountCaptured: number;
  capturedAt: Date;
  /** The capture's idempotency key (our attempt id); default `seed:<paymentIntentId>`. */
  captureAttemptId?: string;
  /** When the capture's funds settle; default `capturedAt`. */
  availableOn?: Date;
  /** A refund of this much, made at `capturedAt` (default none). */
  amountRefunded?: number;
  /** That refund's id (to match what a seeded ledger recorded); default derived like the gateway's own. */
  refundId?: string;
  /** That refund's attempt id; default none, as for a refund made outside the service. */
  refundAttemptId?: string | null;
};

const CHUNK = 10_000;

/**
 * Inserts the payments in one transaction, `CHUNK` rows per statement through `unnest`, without the
 * gateway's per-request path (no idempotency records: nothing will be re-sent for them). 100,000 payments
 * take a few seconds.
 */
export async function insertSeedPayments(sql: postgres.Sql, payments: readonly SeedPayment[]): Promise<void> {
  await sql.begin(async (tx) => {
    for (let start = 0; start < payments.length; start += CHUNK) {
      await insertChunk(tx, payments.slice(start, start + CHUNK));
    }
  });
}

async function insertChunk(sql: postgres.ISql, payments: readonly SeedPayment[]): Promise<void> {
  const rows = payments.map((payment) => {
    if (!Number.isSafeInteger(payment.amountCaptured) || payment.amountCaptured <= 0) {
      throw new RangeError(`amountCaptured must be a positive whole number, got ${payment.amountCaptured}`);
    }
    const attemptId = payment.captureAttemptId ?? `seed:${payment.paymentIntentId}`;
    const chargeId = syntheticId('ch_syn_', attemptId);
    const refunded = payment.amountRefunded ?? 0;
    const refundSeed = payment.refundAttemptId ?? `outside:0:${payment.paymentIntentId}`;
    return {
      ...payment,
      attemptId,
      chargeId,
      refunded,
      capturedAt: payment.capturedAt.toISOString(),
      availableOn: (payment.availableOn ?? payment.capturedAt).toISOString(),
      refundId: payment.refundId ?? syntheticId('re_syn_', refundSeed),
      refundLineId: syntheticId('txn_syn_', refundSeed),
    };
  });
  const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((row) => row[key]);
  const refunds = rows.filter((row) => row.refunded > 0);
  const refundColumn = <K extends keyof (typeof rows)[number]>(key: K) => refunds.map((row) => row[key]);

  await sql`
    INSERT INTO synthetic_gateway.payment_intents
      (id, invoice_id, currency, amount_captured, amount_refunded, final_captured, latest_charge_id, captured_at, created_at, last_activity_at)
    SELECT id, invoice_id, currency, captured, refunded, true, charge_id, at, at, at
    FROM unnest(${column('paymentIntentId')}::text[], ${column('invoiceId')}::text[], ${column('currency')}::text[],
                ${column('amountCaptured')}::bigint[], ${column('refunded')}::bigint[], ${column('chargeId')}::text[],
                ${column('capturedAt')}::timestamptz[])
      AS seed(id, invoice_id, currency, captured, refunded, charge_id, at)`;
  await sql`
    INSERT INTO synthetic_gateway.captures (id, payment_intent_id, attempt_id, amount, captured_at)
    SELECT * FROM unnest(${column('chargeId')}::text[], ${column('paymentIntentId')}::text[], ${column('attemptId')}::text[],
                         ${column('amountCaptured')}::bigint[], ${column('capturedAt')}::timestamptz[])`;
  await sql`
    INSERT INTO synthetic_gateway.settlement_lines (id, payment_intent_id, source_id, type, amount, available_on)
    SELECT line_id, payment_intent_id, source_id, 'charge', amount, available_on
    FROM unnest(${rows.map((row) => syntheticId('txn_syn_', row.attemptId))}::text[], ${column('paymentIntentId')}::text[],
                ${column('chargeId')}::text[], ${column('amountCaptured')}::bigint[], ${column('availableOn')}::timestamptz[])
      AS seed(line_id, payment_intent_id, source_id, amount, available_on)`;
  if (refunds.length === 0) return;
  await sql`
    INSERT INTO synthetic_gateway.refunds (id, payment_intent_id, charge_id, amount, status, attempt_id, reason, created_at)
    SELECT id, payment_intent_id, charge_id, amount, 'succeeded', attempt_id, 'REQUESTED_BY_CUSTOMER', created_at
    FROM unnest(${refundColumn('refundId')}::text[], ${refundColumn('paymentIntentId')}::text[], ${refundColumn('chargeId')}::text[],
                ${refundColumn('refunded')}::bigint[], ${refunds.map((row) => row.refundAttemptId ?? null)}::text[],
                ${refundColumn('capturedAt')}::timestamptz[])
      AS seed(id, payment_intent_id, charge_id, amount, attempt_id, created_at)`;
  await sql`
    INSERT INTO synthetic_gateway.settlement_lines (id, payment_intent_id, source_id, type, amount, available_on)
    SELECT line_id, payment_intent_id, source_id, 'refund', -amount, available_on
    FROM unnest(${refundColumn('refundLineId')}::text[], ${refundColumn('paymentIntentId')}::text[], ${refundColumn('refundId')}::text[],
                ${refundColumn('refunded')}::bigint[], ${refundColumn('availableOn')}::timestamptz[])
      AS seed(line_id, payment_intent_id, source_id, amount, available_on)`;
}
