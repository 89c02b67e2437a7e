import { isDeepStrictEqual } from 'node:util';
import type postgres from 'postgres';
import type { SyntheticOperation } from './synthetic-failures.js';

/**
 * Idempotency keys as Stripe keeps them, in the synthetic processor's table: the first outcome of a
 * request (its result, its decline, or the 500 it answered) is stored under the key and answered again
 * to the same request for `keyRetentionMs`; another request under the key is refused; after the
 * retention the key is forgotten and the request runs as a new one. While a request holds its key
 * (a transaction-scoped advisory lock, so a crashed process frees it), another one with that key is
 * answered "in use" at once rather than waiting, as Stripe answers 409.
 */

/** What a money-moving request answered: dates travel as ISO strings inside `result`. */
export type StoredOutcome =
  | { kind: 'succeeded'; result: postgres.JSONValue }
  | { kind: 'declined'; declineCode: string; message: string }
  | { kind: 'error'; message: string };

export type StoredKey = { operation: SyntheticOperation; request: postgres.JSONValue; outcome: StoredOutcome };

/** The JSON form of a value, as it is stored (and compared) in jsonb. */
export function toJson(value: unknown): postgres.JSONValue {
  return JSON.parse(JSON.stringify(value)) as postgres.JSONValue;
}

/** False when another request holds the key right now. Held until the caller's transaction ends. */
export async function tryHoldKey(sql: postgres.ISql, key: string): Promise<boolean> {
  const [{ held }] = await sql<[{ held: boolean }]>`
    SELECT pg_try_advisory_xact_lock(hashtextextended('synthetic_gateway:key:' || ${key}, 0)) AS held`;
  return held;
}

/** The key's stored request and outcome, unless it was stored before `forgottenBefore` (then it is as if never used). */
export async function readKey(sql: postgres.ISql, key: string, forgottenBefore: Date): Promise<StoredKey | undefined> {
  const [row] = await sql<[StoredKey?]>`
    SELECT operation, request, outcome FROM synthetic_gateway.idempotency_keys
    WHERE key = ${key} AND stored_at >= ${forgottenBefore}`;
  return row;
}

export function sameRequest(stored: StoredKey, operation: SyntheticOperation, request: unknown): boolean {
  return stored.operation === operation && isDeepStrictEqual(stored.request, toJson(request));
}

/** Stores the first outcome under the key, replacing a forgotten one. */
export async function storeKey(
  sql: postgres.ISql,
  key: string,
  entry: { operation: SyntheticOperation; request: unknown; outcome: StoredOutcome; at: Date },
): Promise<void> {
  await sql`
    INSERT INTO synthetic_gateway.idempotency_keys (key, operation, request, outcome, stored_at)
    VALUES (${key}, ${entry.operation}, ${sql.json(toJson(entry.request))}, ${sql.json(toJson(entry.outcome))}, ${entry.at})
    ON CONFLICT (key) DO UPDATE
      SET operation = excluded.operation, request = excluded.request, outcome = excluded.outcome, stored_at = excluded.stored_at`;
}
