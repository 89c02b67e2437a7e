import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { PgTransaction } from 'drizzle-orm/pg-core';
import type { PostgresJsQueryResultHKT } from 'drizzle-orm/postgres-js';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import postgres from 'postgres';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
export type Db = PostgresJsDatabase<Schema>;
export type Tx = PgTransaction<PostgresJsQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Domain functions accept either: they join the caller's transaction when given one. */
export type DbOrTx = Db | Tx;

export type Database = {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
};

export type DatabaseOptions = {
  max?: number;
  /** Named prepared statements per connection (default true); false behind a transaction-mode pooler. */
  prepare?: boolean;
  /** Postgres cancels a statement running longer (statement_timeout); 0 or omitted: no limit. */
  statementTimeoutMs?: number;
  /** Postgres cancels a statement waiting longer for a lock (lock_timeout); 0 or omitted: no limit. */
  lockTimeoutMs?: number;
  /** Called for every statement sent; tests count them. */
  onQuery?: (query: string) => void;
};

/**
 * Seconds postgres.js waits before its next connection attempt after `failures` failed ones. Its
 * default grows to 20 s, and every request queued for that connection waits it out: with Postgres
 * down, requests hang instead of failing fast with a 503, and once it is back, connections stay away
 * for up to 20 s. A failed attempt costs little, so retry within a fifth of a second.
 */
const reconnectBackoff = (failures: number) => Math.min(0.01 * 2 ** failures, 0.2);

export function connectDatabase(url: string, options: DatabaseOptions = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    // Also governs postgres.js's own tagged-template queries (health checks, type lookups).
    prepare: options.prepare ?? true,
    onnotice: () => {},
    backoff: reconnectBackoff,
    // bigint columns come back as JS numbers through Drizzle's `mode: 'number'`; amounts are bounded to 2^53-1.
    debug: options.onQuery ? (_connection, query) => options.onQuery?.(query) : undefined,
    // Session settings sent at connect time, so every statement of every connection has them, in
    // transactions too, without a round trip of its own.
    connection: {
      application_name: 'billing-ledger',
      statement_timeout: options.statementTimeoutMs ?? 0,
      lock_timeout: options.lockTimeoutMs ?? 0,
    },
  });
  const db = drizzle(options.prepare === false ? sql : preparing(sql), { schema });
  return {
    db,
    sql,
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * Drizzle sends its statements unnamed, so Postgres parses and plans each one every time; postgres.js
 * can keep them as named prepared statements per connection instead. This asks for that on every
 * statement, in transactions and savepoints too: about a third less CPU per capture (docs/benchmark-runs/2026-11-21-capture*.txt).
 * The app's statement texts are few and fixed (IN lists and multi-row inserts vary only with their
 * length), so the per-connection cache stays small. Drizzle never selects `*`, so adding a column in a
 * migration does not invalidate a running process's statements.
 */
function preparing(sql: postgres.Sql): postgres.Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (query: string, parameters?: unknown[], options?: postgres.UnsafeQueryOptions) =>
          target.unsafe(query, parameters as postgres.ParameterOrJSON<never>[], { ...options, prepare: true });
      }
      if (property === 'begin' || property === 'savepoint') {
        return (...args: unknown[]) => {
          const work = args.pop() as (inner: postgres.Sql) => unknown;
          const method = (target as unknown as Record<string, (...all: unknown[]) => unknown>)[property]!;
          return method.call(target, ...args, (inner: postgres.Sql) => work(preparing(inner)));
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}
