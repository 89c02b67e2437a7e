// The postgres.js defect scenarios of test/db/postgres-defects.test.ts, run as a child process:
// the first defect kills the process from a timer callback, which only a separate process can
// observe as what it is (an exit), not as an error inside the test runner.
//
//   node scenarios.mjs <scenario>     (DATABASE_URL, APPLICATION_NAME from the environment)
//
// Prints one JSON line of observations and exits 0. Any uncaught exception exits non-zero.
// Plain JavaScript on purpose: it loads the installed `postgres` package exactly as the service does.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import postgres from 'postgres';

const url = process.env.DATABASE_URL;
const applicationName = process.env.APPLICATION_NAME;
// The service's reconnect backoff (src/db/client.ts): the driver's default waits up to 20 s.
const options = { onnotice: () => {}, backoff: (failures) => Math.min(0.01 * 2 ** failures, 0.2), connection: { application_name: applicationName } };

/** How a promise settled within `ms`: its value, `{ error: code }`, or 'pending' (it hangs). */
async function settled(promise, ms = 3_000) {
  let timer;
  const pending = new Promise((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([promise.then((value) => ({ value }), (error) => ({ error: error.code ?? error.message })), pending]);
  } finally {
    clearTimeout(timer);
  }
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

const admin = postgres(url, { max: 1, onnotice: () => {} });
const terminate = (pid) => admin`SELECT pg_terminate_backend(${pid})`;
const backendPid = async (sql) => (await sql`SELECT pg_backend_pid() AS pid`)[0].pid;

/**
 * postgres.js's `socket` option: a real TCP connection to `url`, which `adapt` may watch or wrap
 * (its writes, its destruction) before the driver starts its protocol on it.
 */
function socketTo(url, adapt) {
  const { hostname, port } = new URL(url);
  return async () => {
    const connection = net.connect(Number(port || 5432), hostname);
    await once(connection, 'connect');
    adapt(connection);
    return connection;
  };
}

/** Sessions of this scenario's own pools that Postgres sees inside a transaction nobody ends. */
async function idleInTransaction() {
  const rows = await admin`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE application_name = ${applicationName} AND state LIKE 'idle in transaction%'`;
  return rows[0].n;
}

const scenarios = {
  /** porsager/postgres#1208: the query after the one that saw CONNECTION_CLOSED, on a reserved connection. */
  async reservedBackendTerminated() {
    const sql = postgres(url, { ...options, max: 2 });
    const reserved = await sql.reserve();
    await terminate(await backendPid(reserved));
    const first = await settled(reserved`SELECT 1 AS x`);
    const second = await settled(reserved`SELECT 1 AS x`);
    reserved.release();
    await sql.end({ timeout: 1 });
    return { first, second };
  },

  /**
   * A transaction's callback that keeps going after its connection closed (it was awaiting something
   * else): its next statement went to a socket already gone (#1066, #1154, #1215).
   */
  async transactionContinuesAfterClose() {
    const sql = postgres(url, { ...options, max: 2 });
    await sql`CREATE TABLE IF NOT EXISTS defect_rows (id text PRIMARY KEY, label text NOT NULL)`;
    const closed = deferred();
    const late = deferred();
    const transaction = sql.begin(async (tx) => {
      await tx`INSERT INTO defect_rows VALUES (${randomUUID()}, 'before the close')`;
      await terminate(await backendPid(tx));
      await closed.promise;
      late.resolve(settled(tx`INSERT INTO defect_rows VALUES (${randomUUID()}, 'after the close')`));
    });
    const outcome = await settled(transaction);
    closed.resolve();
    const lateStatement = await late.promise;
    const pooled = await settled(sql`SELECT 1 AS x`.then((rows) => rows[0].x));
    const stored = await sql`SELECT label FROM defect_rows ORDER BY label`;
    await sql.end({ timeout: 1 });
    return { transaction: outcome, lateStatement, pooled, stored: stored.map((row) => row.label) };
  },

  /**
   * The same, but the callback resumes after the pool has reconnected that connection for other work:
   * its statement ran there, outside any transaction, and was committed on its own (#1215, #1216).
   */
  async transactionResumesOnReconnectedConnection() {
    const sql = postgres(url, { ...options, max: 1 });
    await sql`CREATE TABLE IF NOT EXISTS defect_rows (id text PRIMARY KEY, label text NOT NULL)`;
    const reconnected = deferred();
    const late = deferred();
    const transaction = sql.begin(async (tx) => {
      await tx`INSERT INTO defect_rows VALUES (${randomUUID()}, 'before the close')`;
      await terminate(await backendPid(tx));
      await reconnected.promise;
      late.resolve(settled(tx`INSERT INTO defect_rows VALUES (${randomUUID()}, 'after the close')`));
    });
    const outcome = await settled(transaction);
    // The pool's only connection reconnects for this query.
    const pooled = await settled(sql`SELECT 1 AS x`.then((rows) => rows[0].x));
    reconnected.resolve();
    const lateStatement = await late.promise;
    const stored = await sql`SELECT label FROM defect_rows ORDER BY label`;
    const open = await idleInTransaction();
    await sql.end({ timeout: 1 });
    return { transaction: outcome, pooled, lateStatement, stored: stored.map((row) => row.label), idleInTransaction: open };
  },

  /**
   * porsager/postgres#1189, #823: a BEGIN that fills a busy connection's pipeline was written without
   * sql.begin() reserving the connection. max_pipeline: 1 puts every pipelined BEGIN at the boundary
   * that the default of 100 reaches only under load.
   */
  async beginAtPipelineBoundary() {
    const sql = postgres(url, { ...options, max: 2, max_pipeline: 1 });
    await sql`CREATE TABLE IF NOT EXISTS defect_rows (id text PRIMARY KEY, label text NOT NULL)`;
    await Promise.all([sql`SELECT 1`, sql`SELECT 1`]); // both connections open
    // Both connections busy, so the BEGIN is pipelined behind a running statement.
    const sleeps = [sql`SELECT pg_sleep(0.3)`.execute(), sql`SELECT pg_sleep(0.3)`.execute()];
    const transaction = settled(
      sql.begin(async (tx) => {
        await tx`INSERT INTO defect_rows VALUES (${randomUUID()}, 'in the transaction')`;
        return 'committed';
      }),
    );
    await Promise.all(sleeps);
    const outcome = await transaction;
    const after = await Promise.all([1, 2, 3, 4].map(() => settled(sql`SELECT 1 AS x`.then((rows) => rows[0].x))));
    const open = await idleInTransaction();
    const stored = await sql`SELECT label FROM defect_rows ORDER BY label`;
    await sql.end({ timeout: 1 });
    return { transaction: outcome, after, idleInTransaction: open, stored: stored.map((row) => row.label) };
  },

  /**
   * porsager/postgres#1192, #1223: every new connection first reads the array types; when that
   * statement fails (here a lock timeout; in an outage, its backend terminated), its rejection was
   * left unhandled, which ends the process.
   *
   * The lock on pg_type is taken only once the connection has started, just before the driver sends
   * its array-type query: a backend that starts without a relcache init file (an autovacuum or any
   * catalog change removes it) reads pg_type before the startup's lock_timeout applies, and would
   * wait for the lock instead of meeting it in that query.
   */
  async arrayTypeFetchFails() {
    const blocker = postgres(url, { max: 1, onnotice: () => {} });
    await blocker`SELECT 1`;
    const locked = deferred();
    const release = deferred();
    let holding;
    const lockTypes = () => {
      holding ??= blocker.begin(async (tx) => {
        await tx`LOCK TABLE pg_catalog.pg_type IN ACCESS EXCLUSIVE MODE`;
        locked.resolve();
        await release.promise;
      });
      return locked.promise;
    };
    const socket = socketTo(url, (connection) => {
      const write = connection.write.bind(connection);
      connection.write = (chunk, callback) => {
        if (!Buffer.from(chunk).includes('typarray')) return write(chunk, callback);
        lockTypes().then(() => write(chunk, callback));
        return true;
      };
    });
    const sql = postgres(url, { ...options, max: 1, socket, connection: { ...options.connection, lock_timeout: 200 } });
    const whileLocked = await settled(sql`SELECT 1 AS x`.then((rows) => rows[0].x));
    release.resolve();
    await holding;
    // Give a dropped rejection the turn it needs to surface before the next connection.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const afterwards = await settled(sql`SELECT 1 AS x`.then((rows) => rows[0].x));
    await Promise.all([sql.end({ timeout: 1 }), blocker.end({ timeout: 1 })]);
    return { whileLocked, afterwards };
  },

  /**
   * A transaction whose statement fails because its socket errored (ECONNRESET: the client wrote after
   * the server had closed), so that its ROLLBACK is sent in the turn between the socket's `error` and
   * its `close`. The driver kept that ROLLBACK queued; the reconnected connection took it for its
   * current statement, so the next statement's answer went to it and that statement waited forever.
   * The socket here is real; only the reset is made to happen while a statement is in flight, as it
   * does when a backend is killed under load.
   */
  async transactionStatementMeetsReset() {
    const sockets = [];
    const socket = socketTo(url, (connection) => sockets.push(connection));
    const sql = postgres(url, { ...options, max: 1, socket });
    const transaction = settled(
      sql.begin(async (tx) => {
        await tx`SELECT 1`;
        const inFlight = tx`SELECT pg_sleep(0.5)`;
        setTimeout(() => sockets.at(-1).destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), 50);
        await inFlight;
      }),
    );
    const outcome = await transaction;
    const after = [];
    for (const value of [1, 2, 3]) after.push(await settled(sql`SELECT ${value}::int AS x`.then((rows) => rows[0].x)));
    await sql.end({ timeout: 1 });
    return { transaction: outcome, after, connections: sockets.length };
  },

  /**
   * Many concurrent transactions and pooled queries on default settings while their backends are
   * terminated one after another, as when Postgres restarts under load. Each transaction writes two
   * rows: a committed one has both, a failed one neither; one row alone is work that ran outside
   * its transaction.
   */
  async concurrentTransactionsUnderKills() {
    const sql = postgres(url, { ...options, max: 10 });
    await sql`CREATE TABLE IF NOT EXISTS defect_pairs (tx text NOT NULL, part int NOT NULL, PRIMARY KEY (tx, part))`;
    const total = Number(process.env.TRANSACTIONS ?? 1_500);
    const errors = {};
    const committed = [];
    let started = 0;
    // Kills until the last transaction has started; the clients then finish on a quiet server.
    const killer = (async () => {
      while (started < total) {
        await admin`
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = ${applicationName} AND pid <> pg_backend_pid()
          ORDER BY random() LIMIT 2`;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    async function client() {
      while (started < total) {
        started++;
        const id = randomUUID();
        try {
          await sql`SELECT 1`;
          await sql.begin(async (tx) => {
            await tx`INSERT INTO defect_pairs VALUES (${id}, 1)`;
            await tx`SELECT count(*) FROM defect_pairs WHERE tx = ${id}`;
            await tx`INSERT INTO defect_pairs VALUES (${id}, 2)`;
          });
          committed.push(id);
        } catch (error) {
          const code = error.code ?? error.message;
          errors[code] = (errors[code] ?? 0) + 1;
        }
      }
    }
    const clients = await settled(Promise.all(Array.from({ length: 32 }, client)), 60_000);
    await killer;
    const pairs = await sql`SELECT tx, count(*)::int AS parts FROM defect_pairs GROUP BY tx`;
    const parts = new Map(pairs.map((row) => [row.tx, row.parts]));
    const open = await idleInTransaction();
    await sql.end({ timeout: 1 });
    return {
      clients: clients === 'pending' ? 'pending' : 'done',
      committed: committed.length,
      committedMissing: committed.filter((id) => parts.get(id) !== 2).length,
      halfWritten: [...parts.values()].filter((count) => count !== 2).length,
      errors,
      idleInTransaction: open,
    };
  },
};

const scenario = scenarios[process.argv[2]];
if (!scenario) throw new Error(`unknown scenario ${process.argv[2]}`);
const result = await scenario();
await admin.end({ timeout: 1 });
console.log(JSON.stringify(result));
