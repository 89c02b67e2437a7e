import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { connectDatabase } from '../src/db/client.js';
import { authenticateToken, createApiToken } from '../src/domain/auth/tokens.js';
import { verifyLedger } from '../src/domain/ledger/verify-ledger.js';
import { printReport } from './capture/report.js';
import { SCENARIOS, type Options, type PgbenchRow, type Report, type ScenarioName, type ServiceRow } from './capture/scenarios.js';
import { explainReserved, traceScript } from './capture/trace.js';
import { clusterCpuSeconds, machineBusySeconds, mainThreadSchedule, ownCpuSeconds } from './support/cpu.js';
import { runLoad } from './support/http-load.js';
import type { PgbenchScript } from './support/pgbench-script.js';
import { pgbenchVersion, runPgbench } from './support/pgbench.js';
import { startBenchPostgres } from './support/postgres.js';
import { readStatementStats, resetStatementStats } from './support/pg-stats.js';
import { profileDuring, type ProfileSummary } from './support/profile.js';
import { startBenchService } from './support/service.js';
import type { TracedStatement } from './support/sql-trace.js';
import { summarize } from './support/stats.js';
import { wholeNumber, wholeNumbers } from './support/options.js';

/**
 * Capture throughput and latency of the real service (GraphQL over HTTP), beside pgbench running the
 * same SQL statements on the same database, in two scenarios:
 * - distinct: every request captures a whole invoice of its own (no contention between requests);
 * - hot: every request captures 1 minor unit of one invoice, so all of them queue on its row lock.
 *
 * The pgbench script is generated from a traced capture (every statement of its two transactions, the
 * exact text, same parameters as bind variables), so the baseline follows the code if the code changes.
 */

export const description = 'captureInvoice over GraphQL/HTTP vs pgbench running the same SQL (distinct invoices, one hot invoice)';

const USAGE = `npm run bench -- capture [options]
  --clients 8,32        concurrent clients (service) and connections (pgbench), comma separated
  --seconds 7           measured seconds per scenario and client count
  --warmup 2            warm-up seconds before each measured run (discarded)
  --max-requests N      stop a service run after N requests (default 200000)
  --scenarios distinct,hot
  --threads 2           pgbench -j
  --pgbench-mode prepared   pgbench -M: prepared (parse once per connection), or extended (parse every
                        time, as Drizzle's unnamed statements are)
  --db-pool N           the service's DB_POOL_SIZE (default: the service's default)
  --profile             afterwards, CPU-profile the service's event loop during one extra distinct run
  --print-script        print the generated pgbench scripts`;

const MUTATION = `mutation Capture($input: CaptureInvoiceInput!) {
  captureInvoice(input: $input) { invoice { id status amountCaptured } attempt { id status } adjustment { id amount } }
}`;

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string', default: '8,32' },
      seconds: { type: 'string', default: '7' },
      warmup: { type: 'string', default: '2' },
      'max-requests': { type: 'string', default: '200000' },
      scenarios: { type: 'string', default: 'distinct,hot' },
      threads: { type: 'string', default: '2' },
      'pgbench-mode': { type: 'string', default: 'prepared' },
      'db-pool': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'print-script': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  const scenarios = values.scenarios.split(',').map((name) => name.trim());
  for (const name of scenarios) if (!(name in SCENARIOS)) throw new Error(`unknown scenario "${name}" (distinct, hot)`);
  return {
    clients: wholeNumbers('clients', values.clients, 1, 256),
    seconds: wholeNumber('seconds', values.seconds, 1, 300),
    warmup: Number(values.warmup) === 0 ? 0 : wholeNumber('warmup', values.warmup, 1, 60),
    maxRequests: wholeNumber('max-requests', values['max-requests'], 1, 10_000_000),
    scenarios: scenarios as ScenarioName[],
    threads: wholeNumber('threads', values.threads, 1, 64),
    pgbenchMode: pgbenchMode(values['pgbench-mode']),
    dbPool: values['db-pool'] === undefined ? undefined : wholeNumber('db-pool', values['db-pool'], 1, 200),
    profile: values.profile,
    printScript: values['print-script'],
  };
}

function pgbenchMode(text: string): 'prepared' | 'extended' {
  if (text !== 'prepared' && text !== 'extended') throw new Error(`--pgbench-mode must be prepared or extended, got "${text}"`);
  return text;
}

export async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (!options) return 0;
  const benchStarted = performance.now();
  const loadBefore = os.loadavg();
  const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

  log('starting an embedded Postgres and the service…');
  const pg = await startBenchPostgres({ pgStatStatements: true });
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'billing-ledger-bench-scripts-'));
  const setup = postgres(pg.url, { max: 2, onnotice: () => {} });
  let service: Awaited<ReturnType<typeof startBenchService>> | undefined;
  try {
    service = await startBenchService(pg.url, options.dbPool ? { DB_POOL_SIZE: String(options.dbPool) } : {});
    const running = service;
    const { token } = await createApiToken(running.deps.db, { name: 'bench operator', role: 'OPERATOR' });
    const viewer = (await authenticateToken(running.deps.db, token))!;
    const [workspace] = await setup<{ id: string }[]>`
      INSERT INTO workspaces (name, slug, billing_pilot) VALUES ('Bench', ${`bench-${randomUUID().slice(0, 8)}`}, false) RETURNING id`;
    const workspaceId = workspace!.id;

    const createInvoices = async (count: number, amountDue: number): Promise<string[]> => {
      const rows = await setup<{ id: string }[]>`
        INSERT INTO invoices (workspace_id, number, currency, amount_due)
        SELECT ${workspaceId}, 'BENCH-' || gen_random_uuid(), 'USD', ${amountDue}::bigint FROM generate_series(1, ${count})
        RETURNING id`;
      return rows.map((row) => row.id);
    };
    const attemptsOn = async (invoiceId: string): Promise<number> =>
      Number((await setup<{ n: string }[]>`SELECT count(*) AS n FROM payment_attempts WHERE invoice_id = ${invoiceId}`)[0]!.n);
    const settings = await setup<{ name: string; setting: string; unit: string | null }[]>`
      SELECT name, setting, unit FROM pg_settings
      WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_connections')`;

    // 1. Trace one capture per scenario through the domain function, and turn it into a pgbench script.
    log('tracing the SQL of one capture per scenario…');
    const scripts = {} as Record<ScenarioName, PgbenchScript>;
    const traces = {} as Record<ScenarioName, TracedStatement[]>;
    for (const name of options.scenarios) {
      const [invoiceId] = await createInvoices(1, SCENARIOS[name].amountDue);
      ({ script: scripts[name], trace: traces[name] } = await traceScript(pg.url, running.deps, viewer, name, invoiceId!));
      if (options.printScript) {
        console.log(`\n--- pgbench script (${name}) ---\n${scripts[name].text}--- -D variables ---`);
        for (const [key, value] of Object.entries(scripts[name].defines)) console.log(`${key}=${value}`);
      }
    }
    await setup`CREATE TABLE bench_invoice_pool (k bigint PRIMARY KEY, id uuid NOT NULL)`;
    await setup`CREATE SEQUENCE bench_invoice_pool_seq`;
    await setup`ANALYZE`;

    // 2. The service, over HTTP.
    const serviceRows = new Map<string, ServiceRow>();
    type Target = { kind: 'distinct'; invoiceIds: string[] } | { kind: 'hot'; invoiceId: string };
    // Created before a run starts, so that the run measures captures only.
    const prepareTarget = async (name: ScenarioName, durationMs: number, expectedPerSecond: number): Promise<Target> =>
      name === 'distinct'
        ? // Enough invoices for twice the expected rate; the run stops early (and says so) if they run out.
          { kind: 'distinct', invoiceIds: await createInvoices(Math.ceil(Math.max(2_000, expectedPerSecond * 2 * (durationMs / 1000))), SCENARIOS.distinct.amountDue) }
        : { kind: 'hot', invoiceId: (await createInvoices(1, SCENARIOS.hot.amountDue))[0]! };
    const serviceLoad = (name: ScenarioName, clients: number, durationMs: number, target: Target) =>
      runLoad({ url: running.url, token, clients, durationMs, maxRequests: options.maxRequests, query: MUTATION, amount: SCENARIOS[name].amount, target });
    for (const name of options.scenarios) {
      for (const clients of options.clients) {
        log(`service: ${name}, ${clients} clients…`);
        let expected = 1_000;
        if (options.warmup > 0) {
          const warm = await serviceLoad(name, clients, options.warmup * 1000, await prepareTarget(name, options.warmup * 1000, expected));
          expected = (warm.ok / warm.elapsedMs) * 1000;
        }
        const target = await prepareTarget(name, options.seconds * 1000, expected);
        await setup`CHECKPOINT`;
        await resetStatementStats(setup);
        const loopBefore = performance.eventLoopUtilization();
        const cpuBefore = { node: ownCpuSeconds(), postgres: clusterCpuSeconds(pg.postmasterPid()), machine: machineBusySeconds(), main: mainThreadSchedule() };
        const load = await serviceLoad(name, clients, options.seconds * 1000, target);
        const cpuAfter = { node: ownCpuSeconds(), postgres: clusterCpuSeconds(pg.postmasterPid()), machine: machineBusySeconds(), main: mainThreadSchedule() };
        const ours = cpuAfter.node - cpuBefore.node + (cpuAfter.postgres - cpuBefore.postgres);
        const sqlStats = await readStatementStats(setup);
        const perCapture = (seconds: number) => (load.ok ? (seconds * 1000) / load.ok : Number.NaN);
        serviceRows.set(`${name}/${clients}`, {
          load,
          latency: summarize(load.latencies),
          perSecond: (load.ok / load.elapsedMs) * 1000,
          loopBusy: performance.eventLoopUtilization(loopBefore).utilization,
          cpuMsPerCapture: {
            node: perCapture(cpuAfter.node - cpuBefore.node),
            postgres: perCapture(cpuAfter.postgres - cpuBefore.postgres),
            mainThread: perCapture(cpuAfter.main.onCpu - cpuBefore.main.onCpu),
            mainThreadWaiting: perCapture(cpuAfter.main.waiting - cpuBefore.main.waiting),
          },
          sql: sqlStats,
          otherCores: Math.max(0, cpuAfter.machine - cpuBefore.machine - ours) / (load.elapsedMs / 1000),
          ...(target.kind === 'hot' ? { hotInvoice: target.invoiceId, hotAttempts: await attemptsOn(target.invoiceId) } : {}),
        });
      }
    }

    let profile: ProfileSummary | undefined;
    let profiledCaptures = 0;
    let profiledThread = { onCpu: Number.NaN, waiting: Number.NaN };
    if (options.profile && options.scenarios.includes('distinct')) {
      const clients = Math.max(...options.clients);
      log(`profiling the service: distinct, ${clients} clients…`);
      const expected = serviceRows.get(`distinct/${clients}`)?.perSecond ?? 1_000;
      const target = await prepareTarget('distinct', options.seconds * 1000, expected);
      const before = mainThreadSchedule();
      const profiled = await profileDuring(() => serviceLoad('distinct', clients, options.seconds * 1000, target));
      const after = mainThreadSchedule();
      profile = profiled.summary;
      profiledCaptures = profiled.result.ok;
      profiledThread = { onCpu: (after.onCpu - before.onCpu) * 1000, waiting: (after.waiting - before.waiting) * 1000 };
    }

    // Capture notifications enqueued by the service's captures, and how many its worker has delivered.
    const [jobs] = await setup<{ total: string; completed: string; first: Date | null; last: Date | null }[]>`
      SELECT count(*) AS total, count(*) FILTER (WHERE state = 'completed') AS completed,
             min(created_on) AS first, max(completed_on) AS last
      FROM pgboss.job WHERE name = 'capture-notification'`;
    const notifications = { total: Number(jobs!.total), completed: Number(jobs!.completed), seconds: jobs!.first && jobs!.last ? (jobs!.last.getTime() - jobs!.first.getTime()) / 1000 : Number.NaN };

    // pgbench's job rows must not be picked up by the service's notification worker: stop the service.
    log('stopping the service before the pgbench baseline…');
    await running.stop();
    service = undefined;

    // 3. The pgbench baseline, same database, same scenarios.
    const threads = options.threads;
    const pgbenchRows = new Map<string, PgbenchRow>();
    let poolSize = 0;
    const ensurePool = async (needed: number) => {
      const [row] = await setup<{ used: string }[]>`SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS used FROM bench_invoice_pool_seq`;
      const missing = needed - (poolSize - Number(row!.used));
      if (missing <= 0) return;
      await setup`
        WITH created AS (
          INSERT INTO invoices (workspace_id, number, currency, amount_due)
          SELECT ${workspaceId}, 'PGBENCH-' || gen_random_uuid(), 'USD', ${SCENARIOS.distinct.amountDue}::bigint FROM generate_series(1, ${missing})
          RETURNING id
        )
        INSERT INTO bench_invoice_pool (k, id) SELECT ${poolSize}::bigint + row_number() OVER (), id FROM created`;
      poolSize += missing;
    };
    // Invoices for the run are made before it starts, so that the run measures captures only.
    const preparePgbench = async (name: ScenarioName, seconds: number, expectedTps: number) => {
      const file = path.join(scratch, `capture-${name}.sql`);
      await writeFile(file, scripts[name].text);
      const defines = { ...scripts[name].defines };
      let hotInvoice: string | undefined;
      if (name === 'hot') {
        hotInvoice = (await createInvoices(1, SCENARIOS.hot.amountDue))[0]!;
        defines.inv = hotInvoice;
      } else {
        await ensurePool(Math.ceil(Math.max(5_000, expectedTps * 2 * seconds)));
      }
      return { file, defines, hotInvoice };
    };
    const pgbenchRun = async (name: ScenarioName, clients: number, seconds: number, prepared: Awaited<ReturnType<typeof preparePgbench>>) => {
      const { file, defines } = prepared;
      const result = await runPgbench({ url: pg.url, scriptFile: file, clients, threads, seconds, defines, mode: options.pgbenchMode });
      if (result.aborted || result.failed > 0) {
        throw new Error(`pgbench ${name} with ${clients} clients did not complete cleanly:\n${result.output.slice(-3000)}`);
      }
      return result;
    };
    for (const name of options.scenarios) {
      for (const clients of options.clients) {
        log(`pgbench: ${name}, ${clients} connections…`);
        let expected = 2_000;
        if (options.warmup > 0) {
          expected = (await pgbenchRun(name, clients, options.warmup, await preparePgbench(name, options.warmup, expected))).tps;
        }
        const prepared = await preparePgbench(name, options.seconds, expected);
        await setup`CHECKPOINT`;
        await resetStatementStats(setup);
        const before = { postgres: clusterCpuSeconds(pg.postmasterPid()), node: ownCpuSeconds(), machine: machineBusySeconds() };
        const started = performance.now();
        const result = await pgbenchRun(name, clients, options.seconds, prepared);
        const elapsed = (performance.now() - started) / 1000;
        const after = { postgres: clusterCpuSeconds(pg.postmasterPid()), node: ownCpuSeconds(), machine: machineBusySeconds() };
        const ours = after.postgres - before.postgres + (after.node - before.node) + (Number.isFinite(result.cpuSeconds) ? result.cpuSeconds : 0);
        const sqlStats = await readStatementStats(setup);
        const perTx = (seconds: number) => (result.processed ? (seconds * 1000) / result.processed : Number.NaN);
        const { hotInvoice } = prepared;
        pgbenchRows.set(`${name}/${clients}`, {
          result,
          cpuMsPerTx: { pgbench: perTx(result.cpuSeconds), postgres: perTx(after.postgres - before.postgres) },
          sql: sqlStats,
          otherCores: Math.max(0, after.machine - before.machine - ours) / elapsed,
          ...(hotInvoice ? { hotInvoice, hotAttempts: await attemptsOn(hotInvoice) } : {}),
        });
      }
    }

    // How the capture's "money still reserved" sum reads the hot invoice once it has many attempts.
    const explained: { who: string; when: string; attempts: number; plan: string }[] = [];
    if (options.scenarios.includes('hot')) {
      const most = Math.max(...options.clients);
      for (const [who, row] of [['service', serviceRows.get(`hot/${most}`)], ['pgbench', pgbenchRows.get(`hot/${most}`)]] as const) {
        if (row?.hotInvoice) explained.push({ who, when: 'as the runs left it', attempts: row.hotAttempts ?? 0, plan: await explainReserved(setup, traces.hot, row.hotInvoice) });
      }
      // The same after a VACUUM: what is left is the cost of the rows themselves, not of dead index entries.
      await setup`VACUUM ANALYZE payment_attempts`;
      for (const [who, row] of [['service', serviceRows.get(`hot/${most}`)], ['pgbench', pgbenchRows.get(`hot/${most}`)]] as const) {
        if (row?.hotInvoice) explained.push({ who, when: 'after VACUUM', attempts: row.hotAttempts ?? 0, plan: await explainReserved(setup, traces.hot, row.hotInvoice) });
      }
    }

    // 4. The ledger after everything (the service's captures and pgbench's): it must still add up.
    const ledgerDb = connectDatabase(pg.url, { max: 1 });
    const verifyStarted = performance.now();
    const violations = await verifyLedger(ledgerDb.db);
    const verifyMs = performance.now() - verifyStarted;
    const [counts] = await setup<{ invoices: string; adjustments: string; attempts: string }[]>`
      SELECT (SELECT count(*) FROM invoices) AS invoices, (SELECT count(*) FROM invoice_adjustments) AS adjustments,
             (SELECT count(*) FROM payment_attempts) AS attempts`;
    await ledgerDb.close();

    // 5. Report.
    const report: Report = {
      options,
      pgVersion: pg.version,
      pgbench: await pgbenchVersion(),
      settings,
      scripts,
      traces,
      serviceRows,
      pgbenchRows,
      profile,
      profiledCaptures,
      profiledThread,
      violations,
      verifyMs,
      notifications,
      explained,
      counts: counts!,
      loadBefore,
      loadAfter: os.loadavg(),
      seconds: (performance.now() - benchStarted) / 1000,
    };
    printReport(report);
    return violations.length === 0 ? 0 : 1;
  } finally {
    await service?.stop().catch(() => undefined);
    await setup.end({ timeout: 5 }).catch(() => undefined);
    await pg.stop().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}
