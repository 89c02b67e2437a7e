import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from '../../src/db/schema/index.js';
import type { Deps } from '../../src/domain/deps.js';

export type TracedStatement = { text: string; params: unknown[] };

/**
 * Runs `work` with a Deps whose database connection records every statement and its parameters
 * (postgres.js `debug`, the hook `connectDatabase`'s `onQuery` uses; here the parameters are kept too).
 * The client is built with the same options as src/db/client.ts.
 */
export async function traceStatements<T>(
  url: string,
  deps: Deps,
  work: (deps: Deps) => Promise<T>,
): Promise<{ result: T; statements: TracedStatement[] }> {
  const statements: TracedStatement[] = [];
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    debug: (_connection, query, parameters) => statements.push({ text: query, params: [...(parameters as unknown[])] }),
    connection: { application_name: 'billing-ledger-bench-trace' },
  });
  try {
    const result = await work({ ...deps, db: drizzle(sql, { schema }) });
    return { result, statements };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
