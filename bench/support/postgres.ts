import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { freePort } from '../../test/support/ports.js';

export type BenchPostgres = {
  /** The bench database (created empty). */
  url: string;
  adminUrl: string;
  /** e.g. "PostgreSQL 18.1 on x86_64-pc-linux-gnu…", shortened to "18.1". */
  version: string;
  /** The postmaster's process id (from postmaster.pid), to account the cluster's CPU. */
  postmasterPid(): number;
  stop(): Promise<void>;
};

/**
 * A throw-away embedded Postgres in a temp dir on a free port, removed on stop. With `pgStatStatements`
 * the cluster is restarted once with `shared_preload_libraries = 'pg_stat_statements'` and the
 * extension is created in the bench database, so statements can be timed on the server side.
 */
export async function startBenchPostgres(options: { database?: string; pgStatStatements?: boolean } = {}): Promise<BenchPostgres> {
  const database = options.database ?? 'billing_bench';
  const dataDir = await mkdtemp(path.join(tmpdir(), 'billing-ledger-bench-'));
  await chmod(dataDir, 0o755); // as root, Postgres runs as the `postgres` user and must reach its folder
  let embedded;
  try {
    const port = await freePort();
    embedded = await startEmbeddedPostgres({ dataDir, port, database });
    if (options.pgStatStatements) {
      const admin = postgres(embedded.url, { max: 1, onnotice: () => {} });
      await admin`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`;
      await admin.end({ timeout: 5 });
      await embedded.stop();
      embedded = await startEmbeddedPostgres({ dataDir, port, database });
      const sql = postgres(embedded.url, { max: 1, onnotice: () => {} });
      await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
      await sql.end({ timeout: 5 });
    }
  } catch (error) {
    await embedded?.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const sql = postgres(embedded.url, { max: 1, onnotice: () => {} });
  const [row] = await sql<{ server_version: string }[]>`SHOW server_version`;
  await sql.end({ timeout: 5 });
  const stopEmbedded = embedded.stop;
  return {
    url: embedded.url,
    adminUrl: embedded.adminUrl,
    version: row?.server_version ?? 'unknown',
    postmasterPid: () => Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]),
    async stop() {
      try {
        await stopEmbedded();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}
