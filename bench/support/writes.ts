import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createApiToken } from '../../src/domain/auth/tokens.js';
import { settleDelaySeconds } from '../../src/domain/ledger/reserve-attempt.js';
import { startBareServer, type BareServer } from '../baseline/bare-server.js';
import type { PhaseResult } from './ab.js';
import { clusterCpuSeconds, processCpuSeconds } from './cpu.js';
import { runCannon, type CannonSpec } from './cannon.js';
import { wholeNumber, wholeNumbers } from './options.js';
import { startBenchPostgres, type BenchPostgres } from './postgres.js';
import { readStatementStats, resetStatementStats } from './pg-stats.js';
import { startBenchService } from './service.js';
import { traceStatements } from './sql-trace.js';
import type { Deps } from '../../src/domain/deps.js';

/**
 * What the two write benchmarks (capture, webhooks) share: one embedded Postgres with
 * pg_stat_statements, the real service and the bare baseline server on it (same pool size, session
 * settings and gateway), a workspace and an operator token, and one measured phase.
 */
export const WEBHOOK_SECRET = 'whsec_bench';

export type WriteOptions = { clients: number[]; seconds: number; repetitions: number; dbPool?: number; profile?: string; trace: boolean };

export const WRITE_USAGE = `  --clients 8,32     autocannon connections, comma separated
  --seconds 4        seconds per phase (each repetition runs one service and one baseline phase)
  --repetitions 3    A/B repetitions per client count
  --db-pool N        the service's DB_POOL_SIZE, and the baseline's pool (default: the service's default)
  --profile FILE     write the CPU profile of the service's phases (only) to FILE (.cpuprofile)
  --trace            print the statements the service sends for one request (its domain function), then stop`;

export function parseWriteOptions(argv: string[], usage: string): WriteOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string', default: '8,32' },
      seconds: { type: 'string', default: '4' },
      repetitions: { type: 'string', default: '3' },
      'db-pool': { type: 'string' },
      profile: { type: 'string' },
      trace: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return undefined;
  }
  return {
    clients: wholeNumbers('clients', values.clients, 1, 512),
    seconds: wholeNumber('seconds', values.seconds, 1, 300),
    repetitions: wholeNumber('repetitions', values.repetitions, 1, 50),
    ...(values['db-pool'] ? { dbPool: wholeNumber('db-pool', values['db-pool'], 1, 200) } : {}),
    ...(values.profile ? { profile: values.profile } : {}),
    trace: values.trace,
  };
}

export type WriteRig = {
  pg: BenchPostgres;
  setup: postgres.Sql;
  serviceUrl: string;
  bare: BareServer;
  workspaceId: string;
  token: string;
  deps: Deps;
  stop(): Promise<void>;
};

export async function startWriteRig(options: WriteOptions): Promise<WriteRig> {
  const pg = await startBenchPostgres({ pgStatStatements: true });
  const setup = postgres(pg.url, { max: 2, onnotice: () => {} });
  const service = await startBenchService(pg.url, { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, ...(options.dbPool ? { DB_POOL_SIZE: String(options.dbPool) } : {}) }, 'api');
  const { config } = service.deps;
  const bare = await startBareServer({
    databaseUrl: pg.url,
    poolSize: config.dbPoolSize,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    lockTimeoutMs: config.dbLockTimeoutMs,
    webhookSecret: WEBHOOK_SECRET,
    gateway: service.deps.gateway,
    settleDelaySeconds: settleDelaySeconds(config.gatewayTimeoutMs),
    authCacheTtlMs: config.authCacheTtlMs,
  });
  const { token } = await createApiToken(service.deps.db, { name: 'bench operator', role: 'OPERATOR' });
  const [workspace] = await setup<{ id: string }[]>`
    INSERT INTO workspaces (name, slug, billing_pilot) VALUES ('Bench', ${`bench-${randomUUID().slice(0, 8)}`}, false) RETURNING id`;
  return {
    pg,
    setup,
    serviceUrl: service.url!,
    bare,
    workspaceId: workspace!.id,
    token,
    deps: service.deps,
    async stop() {
      await bare.close().catch(() => undefined);
      await service.stop().catch(() => undefined);
      await setup.end({ timeout: 5 }).catch(() => undefined);
      await pg.stop();
    },
  };
}

/** `count` open invoices of 100.00 USD, each with a payment intent, numbered `<tag>-…`. */
export async function createInvoices(rig: WriteRig, tag: string, count: number): Promise<{ id: string; pi: string }[]> {
  const rows = await rig.setup<{ id: string; pi: string }[]>`
    INSERT INTO invoices (workspace_id, number, currency, amount_due, payment_intent_id)
    SELECT ${rig.workspaceId}, ${tag} || '-' || n, 'USD', 10000, 'pi_' || ${tag} || '_' || n FROM generate_series(1, ${count}::int) n
    RETURNING id, payment_intent_id AS pi`;
  return [...rows];
}

/**
 * One phase: the requests through autocannon, then `done` counted in the database (what the phase
 * changed, not what HTTP said), and the SQL statements Postgres ran per done request.
 */
async function measurePhase(
  rig: WriteRig,
  spec: CannonSpec & { requests: NonNullable<CannonSpec['requests']> },
  countDone: () => Promise<number>,
): Promise<PhaseResult> {
  await resetStatementStats(rig.setup);
  const [processBefore, postgresBefore] = [processCpuSeconds(process.pid), clusterCpuSeconds(rig.pg.postmasterPid())];
  const result = await runCannon(spec);
  // The server under test runs in this process, beside the load generator's thread, which is left out.
  const serverCpu = processCpuSeconds(process.pid) - processBefore - result.cpuSeconds;
  const postgresCpu = clusterCpuSeconds(rig.pg.postmasterPid()) - postgresBefore;
  const stats = await readStatementStats(rig.setup);
  const done = await countDone();
  const problems: string[] = [];
  const other = Object.entries(result.statuses).filter(([status]) => !status.startsWith('2'));
  if (other.length) problems.push(`answers ${other.map(([status, count]) => `${status}×${count}`).join(', ')}`);
  if (result.errors || result.timeouts) problems.push(`${result.errors} errors, ${result.timeouts} timeouts`);
  if (done !== spec.requests.length) problems.push(`${done} of ${spec.requests.length} requests did their work`);
  // The statements of a few requests still in flight at the reset, or pg-boss's polling, blur this a little.
  return {
    done,
    seconds: result.seconds,
    latencies: result.accepted,
    statements: stats.calls / Math.max(done, 1),
    cpuMs: { server: (serverCpu * 1000) / Math.max(done, 1), postgres: (postgresCpu * 1000) / Math.max(done, 1) },
    byStatement: new Map(stats.all.map((row) => [row.query, row.calls / Math.max(done, 1)])),
    problems,
  };
}

/** How many requests a phase of `seconds` needs at the rate last seen (at least a few per connection). */
function sized(lastRate: number | undefined, seconds: number, clients: number): number {
  return Math.max(clients * 10, Math.ceil((lastRate ?? 100) * seconds));
}

export type WriteSide = {
  url: string;
  headers: Record<string, string>;
  /** The requests of one phase, one per invoice, for invoices made for it and numbered `<tag>-…`. */
  requests(tag: string, invoices: { id: string; pi: string }[]): NonNullable<CannonSpec['requests']>;
  /** How many of the phase's requests did their work, counted in the database. */
  countDone(tag: string): Promise<number>;
};

let phases = 0;

/**
 * One side of a write case, as the A/B runner calls it: each phase on fresh invoices of its own, as
 * many as the side's last rate fills `options.seconds` with; the side's first call runs a discarded
 * one-second warm-up first.
 */
export function writePhases(rig: WriteRig, options: WriteOptions, clients: number, side: WriteSide): () => Promise<PhaseResult> {
  let lastRate: number | undefined;
  const once = async (count: number): Promise<PhaseResult> => {
    const tag = `P${++phases}`;
    const requests = side.requests(tag, await createInvoices(rig, tag, count));
    const result = await measurePhase(rig, { url: side.url, headers: side.headers, requests, connections: clients, seconds: options.seconds }, () => side.countDone(tag));
    lastRate = result.done / result.seconds;
    return result;
  };
  return async () => {
    if (lastRate === undefined) await once(sized(undefined, 1, clients));
    return once(sized(lastRate, options.seconds, clients));
  };
}

/**
 * `--trace`: the statements one request sends through its domain function, in order, with their
 * parameters (postgres.js's debug hook): what bench/baseline/bare-server.ts must send too.
 */
export async function printTrace(rig: WriteRig, work: (deps: Deps) => Promise<unknown>): Promise<number> {
  const { statements } = await traceStatements(rig.pg.url, rig.deps, work);
  for (const { text, params } of statements) {
    if (/pg_catalog\.pg_type/.test(text)) continue; // postgres.js's own type look-up on a new connection
    console.log(`${text.replace(/\s+/g, ' ').trim()}\n    ${JSON.stringify(params).slice(0, 200)}`);
  }
  return 0;
}
