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
  /** Called for every statement sent; tests count them. */
  onQuery?: (query: string) => void;
};

export function connectDatabase(url: string, options: DatabaseOptions = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // bigint columns come back as JS numbers through Drizzle's `mode: 'number'`; amounts are bounded to 2^53-1.
    debug: options.onQuery ? (_connection, query) => options.onQuery?.(query) : undefined,
    connection: { application_name: 'billing-ledger' },
  });
  const db = drizzle(sql, { schema });
  return {
    db,
    sql,
    close: () => sql.end({ timeout: 5 }),
  };
}
