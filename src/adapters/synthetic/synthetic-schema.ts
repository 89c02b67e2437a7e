import type postgres from 'postgres';

/**
 * The synthetic processor's own tables, in a schema of their own (`synthetic_gateway`), beside the
 * app's tables in the same database. They are the processor's state, not the app's: the app's drizzle
 * schema and migrations never mention them, and the gateway applies these steps itself when it opens.
 *
 * Steps are numbered and applied once each, in order, inside one transaction under an advisory lock,
 * so several processes starting together on one database create the schema exactly once. A step is
 * never edited after it shipped; a change is a new step.
 */
export const SYNTHETIC_SCHEMA = 'synthetic_gateway';

const STEPS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE synthetic_gateway.payment_intents (
    id text PRIMARY KEY,
    invoice_id text,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- What the customer authorised, when known (authorize()); null: the processor captures what it is asked.
    authorized_amount bigint CHECK (authorized_amount > 0),
    amount_captured bigint NOT NULL DEFAULT 0,
    -- Succeeded and pending refunds; a failed refund gives its amount back.
    amount_refunded bigint NOT NULL DEFAULT 0,
    -- After a final capture the rest of the authorisation is released, as at Stripe.
    final_captured boolean NOT NULL DEFAULT false,
    latest_charge_id text,
    captured_at timestamptz,
    created_at timestamptz NOT NULL,
    -- The latest time money moved on it (or it was created): what listActivity reads, through its index.
    last_activity_at timestamptz NOT NULL,
    CHECK (0 <= amount_refunded AND amount_refunded <= amount_captured),
    CHECK (authorized_amount IS NULL OR amount_captured <= authorized_amount)
  );
  CREATE INDEX payment_intents_last_activity_at ON synthetic_gateway.payment_intents (last_activity_at);

  CREATE TABLE synthetic_gateway.captures (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    payment_intent_id text NOT NULL REFERENCES synthetic_gateway.payment_intents (id),
    -- The idempotency key it was made under: our payment attempt's id (Stripe: the capture's metadata).
    attempt_id text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    captured_at timestamptz NOT NULL
  );
  CREATE INDEX captures_payment_intent_id ON synthetic_gateway.captures (payment_intent_id, seq);
  CREATE INDEX captures_attempt_id ON synthetic_gateway.captures (attempt_id);

  CREATE TABLE synthetic_gateway.refunds (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    payment_intent_id text NOT NULL REFERENCES synthetic_gateway.payment_intents (id),
    charge_id text,
    amount bigint NOT NULL CHECK (amount > 0),
    status text NOT NULL CHECK (status IN ('succeeded', 'pending', 'failed', 'canceled')),
    -- Null for refunds made outside the service (the processor's dashboard).
    attempt_id text,
    reason text NOT NULL,
    failure_reason text,
    created_at timestamptz NOT NULL
  );
  CREATE INDEX refunds_payment_intent_id ON synthetic_gateway.refunds (payment_intent_id, seq);
  CREATE INDEX refunds_attempt_id ON synthetic_gateway.refunds (attempt_id) WHERE attempt_id IS NOT NULL;

  -- The statement: one line per capture and per refund that has not failed.
  CREATE TABLE synthetic_gateway.settlement_lines (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    payment_intent_id text NOT NULL REFERENCES synthetic_gateway.payment_intents (id),
    -- The capture or refund the line is for.
    source_id text NOT NULL UNIQUE,
    type text NOT NULL CHECK (type IN ('charge', 'refund')),
    amount bigint NOT NULL CHECK ((type = 'charge' AND amount > 0) OR (type = 'refund' AND amount < 0)),
    available_on timestamptz NOT NULL
  );
  CREATE INDEX settlement_lines_payment_intent_id ON synthetic_gateway.settlement_lines (payment_intent_id, seq);

  -- What a money-moving request answered, kept under its key for the key's retention (24 h by default).
  CREATE TABLE synthetic_gateway.idempotency_keys (
    key text PRIMARY KEY,
    operation text NOT NULL CHECK (operation IN ('capture', 'refund')),
    request jsonb NOT NULL,
    outcome jsonb NOT NULL,
    stored_at timestamptz NOT NULL
  );
  `,
];

/** Creates or brings up to date the synthetic processor's schema; safe to run at every start, from any number of processes. */
export async function migrateSyntheticSchema(sql: postgres.Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtextextended('synthetic_gateway:migrate', 0))`;
    await tx.unsafe(`
      CREATE SCHEMA IF NOT EXISTS ${SYNTHETIC_SCHEMA};
      CREATE TABLE IF NOT EXISTS ${SYNTHETIC_SCHEMA}.schema_steps (
        step integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      );
    `).simple();
    const [{ applied }] = await tx<[{ applied: number }]>`
      SELECT coalesce(max(step), 0)::int AS applied FROM synthetic_gateway.schema_steps`;
    for (const [index, step] of STEPS.entries()) {
      const number = index + 1;
      if (number <= applied) continue;
      await tx.unsafe(step).simple();
      await tx`INSERT INTO synthetic_gateway.schema_steps (step) VALUES (${number})`;
    }
  });
}
