import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { connectDatabase } from '../src/db/client.js';
import type { Deps } from '../src/domain/deps.js';
import { verifyLedger, type LedgerViolation } from '../src/domain/ledger/verify-ledger.js';
import { ingestStripeEvent } from '../src/domain/processor-events/ingest-stripe-event.js';
import { stripeEventEnvelope, toIncomingEvent } from '../src/domain/processor-events/stripe-event.js';
import {
  charge,
  newPayment,
  newRefundId,
  paymentIntent,
  refundObject,
  sign,
  stripeEvent,
  WEBHOOK_SECRET,
  type Payment,
} from '../test/support/stripe-events.js';
import { clusterCpuSeconds, machineBusySeconds, mainThreadSchedule, ownCpuSeconds } from './support/cpu.js';
import { readStatementStats, resetStatementStats, type StatementStats } from './support/pg-stats.js';
import { pgbenchVersion, runPgbench, type PgbenchResult } from './support/pgbench.js';
import { buildPgbenchScript, firstLine, type Binding, type PgbenchScript } from './support/pgbench-script.js';
import { startBenchPostgres } from './support/postgres.js';
import { profileDuring, type ProfileSummary } from './support/profile.js';
import { startBenchService } from './support/service.js';
import { traceStatements, type TracedStatement } from './support/sql-trace.js';
import { summarize, type LatencySummary } from './support/stats.js';
import { fixed, formatTable } from './support/table.js';
import { countOutcomes, NOT_SENT, OTHER, runWebhookLoad, type WebhookDelivery, type WebhookLoadResult } from './support/webhook-load.js';
import { wholeNumber, wholeNumbers } from './support/options.js';

/**
 * Signed Stripe events through the real route (`POST /webhooks/stripe` on the real service started with
 * STRIPE_WEBHOOK_SECRET), in two mixes — all fresh events, and 30% duplicates — beside pgbench running
 * the same SQL statements on the same database.
 *
 * Each delivery is built and signed (with the `stripe` SDK, as the tests do) before its run starts, so
 * the clients measure the service only; the service still verifies every signature. Fresh events apply
 * money to invoices bulk-inserted with SQL beforehand, each event to an invoice of its own:
 * `payment_intent.succeeded` and `charge.captured` capture an open invoice, `refund.created` refunds part
 * of an invoice captured earlier (found by its payment intent, as a refund made in Stripe's dashboard
 * carries no metadata), and a few events name an invoice that does not exist and end `queued`.
 * Duplicates are earlier events of the same run delivered again, half with the exact same body and
 * signature, half as the same payload under a new event id.
 *
 * The pgbench script is generated from traced webhooks (bench/support/sql-trace.ts and pgbench-script.ts,
 * as the capture bench does): one branch per kind of delivery, chosen per transaction with the same
 * weights as the service's mix, so the baseline follows the code if the webhook path changes.
 */

export const description = 'signed Stripe webhooks through POST /webhooks/stripe vs pgbench running the same SQL (fresh events, 30% duplicates)';

const USAGE = `npm run bench -- webhooks [options]
  --clients 8,32        concurrent HTTP clients (service) and connections (pgbench), comma separated
  --seconds 6           measured seconds per mix and client count
  --warmup 2            warm-up seconds before each measured run (discarded; 0 for none)
  --max-events N        at most N deliveries built (and sent) per run (default 30000)
  --mixes fresh,dup
  --dup-share 0.3       share of re-deliveries in the dup mix
  --refund-share 0.25   share of fresh events that are refund.created (on invoices captured beforehand)
  --unknown-share 0.05  share of fresh events for an invoice that does not exist (they end queued)
  --threads 2           pgbench -j
  --pgbench-mode prepared   pgbench -M: prepared, or extended (parse every time, as Drizzle's statements are)
  --db-pool N           the service's DB_POOL_SIZE (default: the service's default)
  --seed 1              seed of the mix (which kind each delivery is, which event a duplicate repeats)
  --profile             afterwards, CPU-profile the service's event loop during one extra fresh run
  --print-script        print the generated pgbench scripts
  --quick               a smoke run: --clients 4,8 --seconds 2 --warmup 0 --max-events 600`;

type MixName = 'fresh' | 'dup';
const MIXES: Record<MixName, string> = { fresh: 'fresh events', dup: '30% duplicates' };

/** What a delivery is. Fresh kinds each store one event; duplicates store nothing. */
type Kind = 'intent' | 'charge' | 'refund' | 'unknown' | 'dupExact' | 'dupNewId';
const KINDS: Record<Kind, string> = {
  intent: 'payment_intent.succeeded (capture)',
  charge: 'charge.captured (capture)',
  refund: 'refund.created (partial refund)',
  unknown: 'payment_intent.succeeded, no such invoice',
  dupExact: 'duplicate: same body and signature',
  dupNewId: 'duplicate: same payload, new event id',
};
const FRESH_KINDS: Kind[] = ['intent', 'charge', 'refund', 'unknown'];
const isDuplicate = (kind: Kind) => kind === 'dupExact' || kind === 'dupNewId';

const STATUSES = ['processed', 'duplicate', 'queued', 'ignored'];
const AMOUNT = 10_000;
const REFUND = 2_500;
/** pgbench's duplicates hit pre-inserted events with external id and payload hash "1"…"DUP_KEYS". */
const DUP_KEYS = 2_000;
const MARK = '/* autocommit */';

type Options = {
  clients: number[];
  seconds: number;
  warmup: number;
  maxEvents: number;
  mixes: MixName[];
  dupShare: number;
  refundShare: number;
  unknownShare: number;
  threads: number;
  pgbenchMode: 'prepared' | 'extended';
  dbPool: number | undefined;
  seed: number;
  profile: boolean;
  printScript: boolean;
  quick: boolean;
};

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      'max-events': { type: 'string' },
      mixes: { type: 'string', default: 'fresh,dup' },
      'dup-share': { type: 'string', default: '0.3' },
      'refund-share': { type: 'string', default: '0.25' },
      'unknown-share': { type: 'string', default: '0.05' },
      threads: { type: 'string', default: '2' },
      'pgbench-mode': { type: 'string', default: 'prepared' },
      'db-pool': { type: 'string' },
      seed: { type: 'string', default: '1' },
      profile: { type: 'boolean', default: false },
      'print-script': { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  const share = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0 || value > 0.9) throw new Error(`--${name} must be a number from 0 to 0.9, got "${text}"`);
    return value;
  };
  const quick = values.quick;
  const mixes = values.mixes.split(',').map((name) => name.trim());
  for (const name of mixes) if (!(name in MIXES)) throw new Error(`unknown mix "${name}" (fresh, dup)`);
  const mode = values['pgbench-mode'];
  if (mode !== 'prepared' && mode !== 'extended') throw new Error(`--pgbench-mode must be prepared or extended, got "${mode}"`);
  const options: Options = {
    clients: wholeNumbers('clients', values.clients ?? (quick ? '4,8' : '8,32'), 1, 256),
    seconds: wholeNumber('seconds', values.seconds ?? (quick ? '2' : '6'), 1, 300),
    warmup: wholeNumber('warmup', values.warmup ?? (quick ? '0' : '2'), 0, 60),
    maxEvents: wholeNumber('max-events', values['max-events'] ?? (quick ? '600' : '30000'), 50, 1_000_000),
    mixes: mixes as MixName[],
    dupShare: share('dup-share', values['dup-share']),
    refundShare: share('refund-share', values['refund-share']),
    unknownShare: share('unknown-share', values['unknown-share']),
    threads: wholeNumber('threads', values.threads, 1, 64),
    pgbenchMode: mode,
    dbPool: values['db-pool'] === undefined ? undefined : wholeNumber('db-pool', values['db-pool'], 1, 200),
    seed: wholeNumber('seed', values.seed, 0, 2 ** 31 - 1),
    profile: values.profile,
    printScript: values['print-script'],
    quick,
  };
  if (options.refundShare + options.unknownShare > 0.9) throw new Error('--refund-share plus --unknown-share must leave room for captures');
  return options;
}

/** The share of each kind of delivery in a mix: what the service is sent, and pgbench's branch weights. */
function kindShares(mix: MixName, options: Options): Record<Kind, number> {
  const captures = 1 - options.refundShare - options.unknownShare;
  const fresh = mix === 'dup' ? 1 - options.dupShare : 1;
  const dup = mix === 'dup' ? options.dupShare : 0;
  return {
    intent: (fresh * captures) / 2,
    charge: (fresh * captures) / 2,
    refund: fresh * options.refundShare,
    unknown: fresh * options.unknownShare,
    dupExact: dup / 2,
    dupNewId: dup / 2,
  };
}

/** mulberry32: a small seeded generator, so a mix can be built again exactly. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One run's deliveries, built and signed before it starts, and what each is expected to do. */
type RunPlan = {
  tag: string;
  mix: MixName;
  kinds: Kind[];
  /** The invoice each fresh delivery applies to (null for unknown-invoice events and duplicates). */
  invoiceOf: (string | null)[];
  deliveries: WebhookDelivery[];
  openInvoices: string[];
  paidInvoices: string[];
  buildMs: number;
};

type PaidInvoice = { id: string; pi: string; ch: string };

type RunCheck = {
  sent: number;
  expected: { processed: number; duplicate: number; queued: number };
  answered: Record<string, number> & { other: number };
  rows: { total: number; processed: number; failed: number; flagged: number; other: number };
  adjustments: { got: number; expected: number };
  captured: { got: number; expected: number };
  refunded: { got: number; expected: number };
  duplicateShare: number;
  problems: string[];
};

type ServiceRow = {
  mix: MixName;
  clients: number;
  load: Omit<WebhookLoadResult, 'outcomes' | 'latencies'>;
  perSecond: number;
  latency: LatencySummary;
  latencyFresh: LatencySummary;
  latencyDuplicate: LatencySummary;
  loopBusy: number;
  cpuMsPerEvent: { node: number; postgres: number; mainThread: number; mainThreadWaiting: number };
  sql: StatementStats;
  otherCores: number;
  check: RunCheck;
  buildMs: number;
  events: number;
};

type PgbenchRow = {
  result: PgbenchResult | undefined;
  error: string | undefined;
  cpuMsPerTx: { pgbench: number; postgres: number };
  sql: StatementStats | undefined;
  otherCores: number;
};

/** One kind of delivery as traced: its statements, the pgbench branch made of them, how many ran on their own (autocommit). */
type BranchTrace = { kind: Kind; statements: TracedStatement[]; script: PgbenchScript; autocommit: number };

export async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (!options) return 0;
  const benchStarted = performance.now();
  const loadBefore = os.loadavg();
  const uptimeBefore = uptime();
  const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

  log('starting an embedded Postgres and the service…');
  const pg = await startBenchPostgres({ pgStatStatements: true });
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'billing-ledger-bench-webhooks-'));
  const setup = postgres(pg.url, { max: 2, onnotice: () => {} });
  let service: Awaited<ReturnType<typeof startBenchService>> | undefined;
  try {
    service = await startBenchService(pg.url, {
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      ...(options.dbPool ? { DB_POOL_SIZE: String(options.dbPool) } : {}),
    });
    const running = service;
    const [workspace] = await setup<{ id: string }[]>`
      INSERT INTO workspaces (name, slug, billing_pilot) VALUES ('Webhook bench', ${`bench-${randomUUID().slice(0, 8)}`}, false) RETURNING id`;
    const workspaceId = workspace!.id;
    const settings = await setup<{ name: string; setting: string; unit: string | null }[]>`
      SELECT name, setting, unit FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections')`;

    const createOpenInvoices = async (count: number): Promise<string[]> =>
      count === 0
        ? []
        : (
            await setup<{ id: string }[]>`
              INSERT INTO invoices (workspace_id, number, currency, amount_due)
              SELECT ${workspaceId}, 'WH-' || gen_random_uuid(), 'USD', ${AMOUNT}::bigint FROM generate_series(1, ${count})
              RETURNING id`
          ).map((row) => row.id);
    // Invoices captured before the bench (a ledger line and its timeline event each, as recordCapture
    // writes them), for the refunds to apply to; verifyLedger checks them with everything else.
    const createPaidInvoices = async (count: number): Promise<PaidInvoice[]> =>
      count === 0
        ? []
        : setup<PaidInvoice[]>`
            WITH inv AS (
              INSERT INTO invoices (workspace_id, number, currency, amount_due, amount_captured, payment_intent_id, external_processor_id, captured_at)
              SELECT ${workspaceId}, 'WH-PAID-' || gen_random_uuid(), 'USD', ${AMOUNT}::bigint, ${AMOUNT}::bigint,
                     'pi_' || substr(md5(random()::text), 1, 24), 'ch_' || substr(md5(random()::text), 1, 24), now()
              FROM generate_series(1, ${count})
              RETURNING id, amount_due, currency, payment_intent_id, external_processor_id, captured_at
            ), adj AS (
              INSERT INTO invoice_adjustments (invoice_id, kind, amount, currency, source, processor_object_id)
              SELECT id, 'CAPTURE', amount_due, currency, 'WEBHOOK', external_processor_id FROM inv
              RETURNING id, invoice_id, amount, currency, source, processor_object_id
            ), timeline AS (
              INSERT INTO invoice_timeline_events (invoice_id, type, source, dedupe_key, data, adjustment_id)
              SELECT invoice_id, 'CAPTURE_SUCCEEDED', source, 'adjustment:' || id,
                     jsonb_build_object('amount', amount, 'currency', currency, 'processorObjectId', processor_object_id), id
              FROM adj
            )
            SELECT id, payment_intent_id AS pi, external_processor_id AS ch FROM inv`.then((rows) => [...rows]);

    // 1. Trace one webhook of each kind through the domain function, and build the pgbench scripts.
    log('tracing the SQL of one webhook of each kind…');
    const branches = await traceBranches(pg.url, running.deps, setup, createOpenInvoices, createPaidInvoices);
    const scripts = {} as Record<MixName, { text: string; defines: Record<string, string> }>;
    for (const mix of options.mixes) {
      scripts[mix] = combineBranches(branches, kindShares(mix, options));
      if (options.printScript) {
        console.log(`\n--- pgbench script (${mix}) ---\n${scripts[mix].text}--- -D variables ---`);
        for (const [key, value] of Object.entries(scripts[mix].defines)) console.log(`${key}=${value.length > 120 ? `${value.slice(0, 117)}…` : value}`);
      }
    }
    await setup`CREATE TABLE bench_wh_open_pool (k bigint PRIMARY KEY, id uuid NOT NULL)`;
    await setup`CREATE SEQUENCE bench_wh_open_pool_seq`;
    await setup`CREATE TABLE bench_wh_paid_pool (k bigint PRIMARY KEY, id uuid NOT NULL, pi text NOT NULL)`;
    await setup`CREATE SEQUENCE bench_wh_paid_pool_seq`;
    await setup`ANALYZE`;

    // 2. The service, over HTTP.
    let runIndex = 0;
    const plan = async (mix: MixName, clients: number, count: number): Promise<RunPlan> => {
      const started = performance.now();
      const tag = `b${++runIndex}`;
      const random = seeded(options.seed * 1_000 + runIndex);
      const shares = kindShares(mix, options);
      const planned = planKinds(count, shares, random, clients * 2);
      const openInvoices = await createOpenInvoices(planned.kinds.filter((kind) => kind === 'intent' || kind === 'charge').length);
      const paidInvoices = await createPaidInvoices(planned.kinds.filter((kind) => kind === 'refund').length);
      const built = buildDeliveries(tag, planned, openInvoices, paidInvoices);
      return { tag, mix, ...built, kinds: planned.kinds, openInvoices, paidInvoices: paidInvoices.map((row) => row.id), buildMs: performance.now() - started };
    };
    const eventsFor = (seconds: number, expectedPerSecond: number) =>
      Math.min(options.maxEvents, Math.ceil(Math.max(300, expectedPerSecond * 2 * seconds)));
    const load = (runPlan: RunPlan, clients: number, durationMs: number) =>
      runWebhookLoad({
        url: running.url,
        path: '/webhooks/stripe',
        signatureHeader: 'stripe-signature',
        deliveries: runPlan.deliveries,
        statuses: STATUSES,
        clients,
        durationMs,
        maxRequests: options.maxEvents,
      });

    const serviceRows = new Map<string, ServiceRow>();
    /** Checks of the runs not in the table: warm-ups and the profiled run. */
    const extraChecks: RunCheck[] = [];
    for (const mix of options.mixes) {
      for (const clients of options.clients) {
        let expected = 300;
        if (options.warmup > 0) {
          log(`service: ${mix}, ${clients} clients, warm-up…`);
          const warmPlan = await plan(mix, clients, eventsFor(options.warmup, expected));
          const warm = await load(warmPlan, clients, options.warmup * 1000);
          expected = (warm.sent / warm.elapsedMs) * 1000;
          extraChecks.push(await checkRun(setup, warmPlan, warm));
        }
        log(`service: ${mix}, ${clients} clients…`);
        const runPlan = await plan(mix, clients, eventsFor(options.seconds, expected));
        await setup`CHECKPOINT`;
        await resetStatementStats(setup);
        const loopBefore = performance.eventLoopUtilization();
        const cpuBefore = { node: ownCpuSeconds(), postgres: clusterCpuSeconds(pg.postmasterPid()), machine: machineBusySeconds(), main: mainThreadSchedule() };
        const result = await load(runPlan, clients, options.seconds * 1000);
        const cpuAfter = { node: ownCpuSeconds(), postgres: clusterCpuSeconds(pg.postmasterPid()), machine: machineBusySeconds(), main: mainThreadSchedule() };
        const loopBusy = performance.eventLoopUtilization(loopBefore).utilization;
        const sqlStats = await readStatementStats(setup);
        const check = await checkRun(setup, runPlan, result);
        const ours = cpuAfter.node - cpuBefore.node + (cpuAfter.postgres - cpuBefore.postgres);
        const answered: number[] = [];
        const fresh: number[] = [];
        const duplicates: number[] = [];
        result.outcomes.forEach((code, index) => {
          if (code === NOT_SENT || code === OTHER) return;
          const ms = result.latencies[index]!;
          answered.push(ms);
          (isDuplicate(runPlan.kinds[index]!) ? duplicates : fresh).push(ms);
        });
        const perEvent = (seconds: number) => (answered.length ? (seconds * 1000) / answered.length : Number.NaN);
        const { outcomes: _outcomes, latencies: _latencies, ...loadSummary } = result;
        serviceRows.set(`${mix}/${clients}`, {
          mix,
          clients,
          load: loadSummary,
          perSecond: (answered.length / result.elapsedMs) * 1000,
          latency: summarize(answered),
          latencyFresh: summarize(fresh),
          latencyDuplicate: summarize(duplicates),
          loopBusy,
          cpuMsPerEvent: {
            node: perEvent(cpuAfter.node - cpuBefore.node),
            postgres: perEvent(cpuAfter.postgres - cpuBefore.postgres),
            mainThread: perEvent(cpuAfter.main.onCpu - cpuBefore.main.onCpu),
            mainThreadWaiting: perEvent(cpuAfter.main.waiting - cpuBefore.main.waiting),
          },
          sql: sqlStats,
          otherCores: Math.max(0, cpuAfter.machine - cpuBefore.machine - ours) / (result.elapsedMs / 1000),
          check,
          buildMs: runPlan.buildMs,
          events: runPlan.deliveries.length,
        });
      }
    }

    let profile: { summary: ProfileSummary; events: number } | undefined;
    if (options.profile) {
      const clients = Math.max(...options.clients);
      log(`profiling the service: fresh, ${clients} clients…`);
      const expected = serviceRows.get(`fresh/${clients}`)?.perSecond ?? 300;
      const runPlan = await plan('fresh', clients, eventsFor(options.seconds, expected));
      const profiled = await profileDuring(() => load(runPlan, clients, options.seconds * 1000));
      extraChecks.push(await checkRun(setup, runPlan, profiled.result));
      profile = { summary: profiled.summary, events: profiled.result.sent };
    }

    const [jobs] = await setup<{ total: string; completed: string }[]>`
      SELECT count(*) AS total, count(*) FILTER (WHERE state = 'completed') AS completed FROM pgboss.job WHERE name = 'capture-notification'`;
    const notifications = { total: Number(jobs!.total), completed: Number(jobs!.completed) };

    // The ledger after the service's webhooks alone.
    const ledgerDb = connectDatabase(pg.url, { max: 1 });
    const serviceViolations = await verifyLedger(ledgerDb.db);

    // pgbench's job rows must not be picked up by the service's notification worker: stop the service.
    log('stopping the service before the pgbench baseline…');
    await running.stop();
    service = undefined;

    // 3. The pgbench baseline, same database, same mixes and client counts.
    await setup`
      INSERT INTO processor_events (provider, external_id, event_type, payload, payload_hash, outcome, replay_requested, processed_at)
      SELECT 'stripe', g::text, 'payment_intent.succeeded', ${branches.find((branch) => branch.kind === 'intent')!.payloadJson}::jsonb, g::text, 'PROCESSED', false, now()
      FROM generate_series(1, ${DUP_KEYS}) g`;
    const pools = { open: { size: 0, table: 'bench_wh_open_pool' }, paid: { size: 0, table: 'bench_wh_paid_pool' } };
    const ensurePools = async (transactions: number, shares: Record<Kind, number>) => {
      for (const [name, pool] of Object.entries(pools) as [keyof typeof pools, (typeof pools)['open']][]) {
        const share = name === 'open' ? shares.intent + shares.charge : shares.refund;
        const needed = Math.ceil(Math.max(2_000, transactions * share));
        const [row] = await setup<{ used: string }[]>`
          SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS used FROM ${setup(`${pool.table}_seq`)}`;
        const missing = needed - (pool.size - Number(row!.used));
        if (missing <= 0) continue;
        if (name === 'open') {
          const ids = await createOpenInvoices(missing);
          await setup`INSERT INTO bench_wh_open_pool (k, id) SELECT ${pool.size}::bigint + n, id FROM unnest(${ids}::uuid[]) WITH ORDINALITY AS t(id, n)`;
        } else {
          const paid = await createPaidInvoices(missing);
          await setup`
            INSERT INTO bench_wh_paid_pool (k, id, pi)
            SELECT ${pool.size}::bigint + n, id, pi FROM unnest(${paid.map((row) => row.id)}::uuid[], ${paid.map((row) => row.pi)}::text[]) WITH ORDINALITY AS t(id, pi, n)`;
        }
        pool.size += missing;
      }
    };
    const pgbenchRows = new Map<string, PgbenchRow>();
    const pgbenchRun = async (mix: MixName, clients: number, seconds: number, expectedTps: number) => {
      await ensurePools(Math.ceil(expectedTps * 2 * seconds), kindShares(mix, options));
      const file = path.join(scratch, `webhooks-${mix}.sql`);
      await writeFile(file, scripts[mix].text);
      return runPgbench({ url: pg.url, scriptFile: file, clients, threads: options.threads, seconds, defines: scripts[mix].defines, mode: options.pgbenchMode });
    };
    const failure = (result: PgbenchResult) =>
      result.aborted || result.failed > 0 ? `pgbench did not complete cleanly: ${result.output.trim().split('\n').slice(-6).join(' | ')}` : undefined;
    for (const mix of options.mixes) {
      for (const clients of options.clients) {
        let expected = 1_500;
        if (options.warmup > 0) {
          log(`pgbench: ${mix}, ${clients} connections, warm-up…`);
          const warm = await pgbenchRun(mix, clients, options.warmup, expected);
          if (!failure(warm)) expected = warm.tps;
        }
        log(`pgbench: ${mix}, ${clients} connections…`);
        await ensurePools(Math.ceil(expected * 2 * options.seconds), kindShares(mix, options));
        await setup`CHECKPOINT`;
        await resetStatementStats(setup);
        const before = { postgres: clusterCpuSeconds(pg.postmasterPid()), node: ownCpuSeconds(), machine: machineBusySeconds() };
        const started = performance.now();
        const result = await pgbenchRun(mix, clients, options.seconds, expected);
        const elapsed = (performance.now() - started) / 1000;
        const after = { postgres: clusterCpuSeconds(pg.postmasterPid()), node: ownCpuSeconds(), machine: machineBusySeconds() };
        const ours = after.postgres - before.postgres + (after.node - before.node) + (Number.isFinite(result.cpuSeconds) ? result.cpuSeconds : 0);
        const perTx = (seconds: number) => (result.processed ? (seconds * 1000) / result.processed : Number.NaN);
        const error = failure(result);
        pgbenchRows.set(`${mix}/${clients}`, {
          result: error ? undefined : result,
          error,
          cpuMsPerTx: { pgbench: perTx(result.cpuSeconds), postgres: perTx(after.postgres - before.postgres) },
          sql: await readStatementStats(setup),
          otherCores: Math.max(0, after.machine - before.machine - ours) / elapsed,
        });
      }
    }

    // 4. The ledger after everything (the service's webhooks and pgbench's).
    const finalViolations = await verifyLedger(ledgerDb.db);
    const [counts] = await setup<{ invoices: string; adjustments: string; events: string }[]>`
      SELECT (SELECT count(*) FROM invoices) AS invoices, (SELECT count(*) FROM invoice_adjustments) AS adjustments,
             (SELECT count(*) FROM processor_events) AS events`;
    await ledgerDb.close();

    // 5. Report.
    const ok = printReport({
      options,
      pgVersion: pg.version,
      pgbench: await pgbenchVersion(),
      settings,
      branches,
      serviceRows,
      pgbenchRows,
      extraChecks,
      profile,
      notifications,
      serviceViolations,
      finalViolations,
      counts: counts!,
      loadBefore,
      loadAfter: os.loadavg(),
      uptimeBefore,
      uptimeAfter: uptime(),
      seconds: (performance.now() - benchStarted) / 1000,
    });
    return ok ? 0 : 1;
  } finally {
    await service?.stop().catch(() => undefined);
    await setup.end({ timeout: 5 }).catch(() => undefined);
    await pg.stop().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Which kind each delivery is. In the dup mix a delivery is, with the duplicate share, a re-delivery of
 * an earlier fresh event of the run at least `gap` positions back (so its original has usually been
 * answered already; when it has not, the two race and either may be the one processed — the totals
 * checked afterwards are the same).
 */
function planKinds(count: number, shares: Record<Kind, number>, random: () => number, gap: number): { kinds: Kind[]; originals: Int32Array } {
  const kinds: Kind[] = [];
  const originals = new Int32Array(count).fill(-1);
  const fresh: number[] = [];
  const dupShare = shares.dupExact + shares.dupNewId;
  const freshTotal = shares.intent + shares.charge + shares.refund + shares.unknown;
  let eligible = 0;
  for (let index = 0; index < count; index++) {
    while (eligible < fresh.length && fresh[eligible]! < index - gap) eligible++;
    if (dupShare > 0 && eligible > 0 && random() < dupShare) {
      originals[index] = fresh[Math.floor(random() * eligible)]!;
      kinds.push(random() < shares.dupExact / dupShare ? 'dupExact' : 'dupNewId');
      continue;
    }
    let pick = random() * freshTotal;
    let kind: Kind = 'intent';
    for (const candidate of FRESH_KINDS) {
      kind = candidate;
      pick -= shares[candidate];
      if (pick < 0) break;
    }
    kinds.push(kind);
    fresh.push(index);
  }
  return { kinds, originals };
}

/** The signed bodies, each fresh event on an invoice of its own; duplicates repeat an earlier event. */
function buildDeliveries(
  tag: string,
  plan: { kinds: Kind[]; originals: Int32Array },
  openInvoices: string[],
  paidInvoices: PaidInvoice[],
): { deliveries: WebhookDelivery[]; invoiceOf: (string | null)[] } {
  const timestamp = Math.floor(Date.now() / 1000);
  const eventId = () => `evt_${tag}_${randomBytes(12).toString('hex')}`;
  const events: Record<string, unknown>[] = [];
  const deliveries: WebhookDelivery[] = [];
  const invoiceOf: (string | null)[] = [];
  let open = 0;
  let paid = 0;
  plan.kinds.forEach((kind, index) => {
    let event: Record<string, unknown>;
    let invoiceId: string | null = null;
    switch (kind) {
      case 'intent':
        invoiceId = openInvoices[open++]!;
        event = stripeEvent('payment_intent.succeeded', paymentIntent(newPayment(invoiceId, AMOUNT), AMOUNT), { id: eventId() });
        break;
      case 'charge':
        invoiceId = openInvoices[open++]!;
        event = stripeEvent('charge.captured', charge(newPayment(invoiceId, AMOUNT), AMOUNT), { id: eventId() });
        break;
      case 'refund': {
        const invoice = paidInvoices[paid++]!;
        invoiceId = invoice.id;
        const payment: Payment = { invoiceId, paymentIntentId: invoice.pi, chargeId: invoice.ch, currency: 'usd', amount: AMOUNT };
        event = stripeEvent('refund.created', refundObject(payment, { id: newRefundId(), amount: REFUND }), { id: eventId() });
        break;
      }
      case 'unknown':
        event = stripeEvent('payment_intent.succeeded', paymentIntent(newPayment(randomUUID(), AMOUNT), AMOUNT), { id: eventId() });
        break;
      case 'dupExact':
      case 'dupNewId': {
        const original = plan.originals[index]!;
        events.push(events[original]!);
        deliveries.push(kind === 'dupExact' ? deliveries[original]! : sign({ ...events[original]!, id: eventId() }, { timestamp }));
        invoiceOf.push(null);
        return;
      }
    }
    events.push(event);
    deliveries.push(sign(event, { timestamp }));
    invoiceOf.push(invoiceId);
  });
  return { deliveries, invoiceOf };
}

/**
 * What one run must have done, from the deliveries it sent (always a prefix of its list): the answers
 * (processed, duplicate, queued), one processor_events row per distinct event (processed ones cleared,
 * queued ones still flagged for replay), one ledger line per money event, and the invoices' totals.
 */
async function checkRun(sql: postgres.Sql, plan: RunPlan, result: WebhookLoadResult): Promise<RunCheck> {
  const problems: string[] = [];
  const sentKinds = plan.kinds.slice(0, result.sent);
  for (let index = 0; index < plan.kinds.length; index++) {
    if ((result.outcomes[index] !== NOT_SENT) !== index < result.sent) {
      problems.push(`the deliveries sent are not a prefix of the list (index ${index})`);
      break;
    }
  }
  const count = (...kinds: Kind[]) => sentKinds.filter((kind) => kinds.includes(kind)).length;
  const expected = { processed: count('intent', 'charge', 'refund'), duplicate: count('dupExact', 'dupNewId'), queued: count('unknown') };
  const answered = countOutcomes(result, STATUSES);
  for (const status of ['processed', 'duplicate', 'queued'] as const) {
    if (answered[status] !== expected[status]) problems.push(`${status}: answered ${answered[status]}, expected ${expected[status]}`);
  }
  if (answered.ignored) problems.push(`${answered.ignored} answered ignored`);
  if (answered.other) problems.push(`${answered.other} other answers: ${JSON.stringify(result.errors)}`);

  const prefix = `evt_${plan.tag}_`;
  const [rows] = await sql<{ total: string; processed: string; failed: string; flagged: string; other: string }[]>`
    SELECT count(*) AS total,
           count(*) FILTER (WHERE outcome = 'PROCESSED' AND NOT replay_requested) AS processed,
           count(*) FILTER (WHERE outcome = 'FAILED') AS failed,
           count(*) FILTER (WHERE outcome = 'FAILED' AND replay_requested AND last_replay_error IS NOT NULL) AS flagged,
           count(*) FILTER (WHERE outcome NOT IN ('PROCESSED', 'FAILED')) AS other
    FROM processor_events WHERE provider = 'stripe' AND starts_with(external_id, ${prefix})`;
  const [adjustments] = await sql<{ n: string }[]>`
    SELECT count(*) AS n FROM invoice_adjustments a JOIN processor_events e ON e.id = a.processor_event_id
    WHERE e.provider = 'stripe' AND starts_with(e.external_id, ${prefix})`;
  const [money] = await sql<{ captured: string; refunded: string }[]>`
    SELECT (SELECT coalesce(sum(amount_captured), 0) FROM invoices WHERE id = ANY(${plan.openInvoices}::uuid[])) AS captured,
           (SELECT coalesce(sum(amount_refunded), 0) FROM invoices WHERE id = ANY(${plan.paidInvoices}::uuid[])) AS refunded`;
  const check: RunCheck = {
    sent: result.sent,
    expected,
    answered,
    rows: { total: Number(rows!.total), processed: Number(rows!.processed), failed: Number(rows!.failed), flagged: Number(rows!.flagged), other: Number(rows!.other) },
    adjustments: { got: Number(adjustments!.n), expected: expected.processed },
    captured: { got: Number(money!.captured), expected: count('intent', 'charge') * AMOUNT },
    refunded: { got: Number(money!.refunded), expected: count('refund') * REFUND },
    duplicateShare: sentKinds.length ? expected.duplicate / sentKinds.length : 0,
    problems,
  };
  const distinct = expected.processed + expected.queued;
  if (check.rows.total !== distinct) problems.push(`processor_events rows: ${check.rows.total}, distinct events sent: ${distinct}`);
  if (check.rows.processed !== expected.processed) problems.push(`rows processed and cleared: ${check.rows.processed}, expected ${expected.processed}`);
  if (check.rows.failed !== expected.queued || check.rows.flagged !== expected.queued) {
    problems.push(`rows queued: ${check.rows.failed} (${check.rows.flagged} flagged with an error), expected ${expected.queued}`);
  }
  if (check.rows.other) problems.push(`${check.rows.other} rows neither processed nor failed`);
  if (check.adjustments.got !== check.adjustments.expected) problems.push(`ledger lines from these events: ${check.adjustments.got}, expected ${check.adjustments.expected}`);
  if (check.captured.got !== check.captured.expected) problems.push(`captured on the run's open invoices: ${check.captured.got}, expected ${check.captured.expected}`);
  if (check.refunded.got !== check.refunded.expected) problems.push(`refunded on the run's paid invoices: ${check.refunded.got}, expected ${check.refunded.expected}`);
  return check;
}

/**
 * Runs one real webhook of each kind with statement tracing and turns each into a pgbench branch. What
 * must differ per transaction is a variable: the event's external id and payload hash (`key`, a random
 * 63-bit number; `dk`, one of the pre-inserted events, for duplicates), the invoice (`inv`, and `pi` for a
 * refund, from a pool of fresh invoices), the refund id (`key`), and the ids the inserts return
 * (`ev_id`, `adj_id` via `\gset`). The stored event's insert and a duplicate's look-up run outside any
 * transaction (autocommit), as in the service.
 */
async function traceBranches(
  url: string,
  deps: Deps,
  sql: postgres.Sql,
  createOpenInvoices: (count: number) => Promise<string[]>,
  createPaidInvoices: (count: number) => Promise<PaidInvoice[]>,
): Promise<(BranchTrace & { payloadJson: string })[]> {
  const ingest = (traced: Deps, event: unknown) => ingestStripeEvent(traced, stripeEventEnvelope.parse(JSON.parse(JSON.stringify(event))));
  const out: (BranchTrace & { payloadJson: string })[] = [];
  const [openA, openB, openC] = await createOpenInvoices(3);
  const [paid] = await createPaidInvoices(1);
  const events: Record<Kind, { event: Record<string, unknown>; before?: Record<string, unknown>; expect: string; invoice?: string; pi?: string }> = {
    intent: { event: stripeEvent('payment_intent.succeeded', paymentIntent(newPayment(openA!, AMOUNT), AMOUNT)), expect: 'processed', invoice: openA! },
    charge: { event: stripeEvent('charge.captured', charge(newPayment(openB!, AMOUNT), AMOUNT)), expect: 'processed', invoice: openB! },
    refund: {
      event: stripeEvent(
        'refund.created',
        refundObject({ invoiceId: paid!.id, paymentIntentId: paid!.pi, chargeId: paid!.ch, currency: 'usd', amount: AMOUNT }, { id: newRefundId(), amount: REFUND }),
      ),
      expect: 'processed',
      invoice: paid!.id,
      pi: paid!.pi,
    },
    unknown: { event: stripeEvent('payment_intent.succeeded', paymentIntent(newPayment(randomUUID(), AMOUNT), AMOUNT)), expect: 'queued' },
    dupExact: { event: {}, expect: 'duplicate' },
    dupNewId: { event: {}, expect: 'duplicate' },
  };
  const original = stripeEvent('payment_intent.succeeded', paymentIntent(newPayment(openC!, AMOUNT), AMOUNT));
  events.dupExact = { event: original, before: original, expect: 'duplicate' };
  events.dupNewId = { event: { ...original, id: `evt_${randomBytes(12).toString('hex')}` }, expect: 'duplicate' };

  for (const kind of Object.keys(KINDS) as Kind[]) {
    const spec = events[kind];
    if (spec.before) await ingest(deps, spec.before);
    const { result, statements } = await traceStatements(url, deps, (traced) => ingest(traced, spec.event));
    if (result !== spec.expect) throw new Error(`the traced ${kind} webhook answered ${result}, expected ${spec.expect}`);
    const incoming = toIncomingEvent(stripeEventEnvelope.parse(spec.event));
    const [stored] = await sql<{ id: string }[]>`SELECT id FROM processor_events WHERE provider = 'stripe' AND (external_id = ${incoming.externalId} OR payload_hash = ${incoming.payloadHash})`;
    const eventRowId = stored?.id;
    const adjustmentIds = eventRowId ? (await sql<{ id: string }[]>`SELECT id FROM invoice_adjustments WHERE processor_event_id = ${eventRowId}`).map((row) => row.id) : [];
    const duplicate = isDuplicate(kind);
    const fixedValues = new Map<unknown, string>();
    if (spec.invoice) fixedValues.set(spec.invoice, 'inv');
    if (spec.pi) fixedValues.set(spec.pi, 'pi');
    if (eventRowId && !duplicate) fixedValues.set(eventRowId, 'ev_id');
    for (const id of adjustmentIds) fixedValues.set(id, 'adj_id');
    const refundId = kind === 'refund' ? ((spec.event.data as { object: { id: string } }).object.id) : undefined;
    if (refundId) fixedValues.set(refundId, 'key');
    fixedValues.set(incoming.externalId, kind === 'dupExact' ? 'dk' : 'key');
    fixedValues.set(incoming.payloadHash, duplicate ? 'dk' : 'key');

    const bind = (value: unknown): Binding => {
      const name = fixedValues.get(value);
      if (name) return { kind: 'variable', name };
      // Keys built from those ids (timeline dedupe keys) are unique: give each transaction its own.
      if (typeof value === 'string' && !value.startsWith('{') && !value.startsWith('[')) {
        for (const [known, variable] of fixedValues) if (typeof known === 'string' && known.length >= 16 && value.includes(known)) return { kind: 'variable', name: variable };
      }
      return { kind: 'constant' };
    };
    const prelude =
      kind === 'intent' || kind === 'charge'
        ? ["SELECT id AS inv FROM bench_wh_open_pool WHERE k = (SELECT nextval('bench_wh_open_pool_seq')) \\gset"]
        : kind === 'refund'
          ? ["SELECT id AS inv, pi FROM bench_wh_paid_pool WHERE k = (SELECT nextval('bench_wh_paid_pool_seq')) \\gset"]
          : [];
    const script = buildPgbenchScript(markAutocommit(statements), {
      prelude,
      bind,
      gsetPrefix: (text) =>
        /^insert into "processor_events"/i.test(text) && !duplicate ? 'ev_' : /^insert into "invoice_adjustments"/i.test(text) ? 'adj_' : undefined,
    });
    script.text = script.text
      .split('\n')
      .filter((line) => !line.includes(MARK))
      .join('\n');
    const autocommit = script.statements.filter((text) => text.startsWith('begin') && text.includes(MARK)).length;
    script.statements = script.statements.filter((text) => !text.includes(MARK));
    out.push({ kind, statements, script, autocommit, payloadJson: JSON.stringify(incoming.payload) });
  }
  return out;
}

/**
 * The webhook's first statement (the event's INSERT) and a duplicate's look-up run on their own, outside
 * any transaction; buildPgbenchScript keeps only what is inside one. Mark each such statement as a
 * transaction of its own, and drop the marks from the script again afterwards (so pgbench sends them on
 * their own too). postgres.js's catalog query on a new connection is not part of a webhook.
 */
function markAutocommit(trace: TracedStatement[]): TracedStatement[] {
  const out: TracedStatement[] = [];
  let inTransaction = false;
  for (const statement of trace) {
    const text = statement.text.trim();
    if (/^begin\b/i.test(text)) inTransaction = true;
    if (!inTransaction && !/pg_catalog\./i.test(text)) {
      out.push({ text: `begin ${MARK}`, params: [] }, statement, { text: `commit ${MARK}`, params: [] });
    } else out.push(statement);
    // (not "rollback to <savepoint>": the transaction goes on after it)
    if (/^(commit|rollback)\s*;?\s*$/i.test(text)) inTransaction = false;
  }
  return out;
}

/** One pgbench script for a mix: a branch per kind of delivery, picked per transaction with the mix's weights. */
function combineBranches(branches: BranchTrace[], shares: Record<Kind, number>): { text: string; defines: Record<string, string> } {
  const lines = [
    '-- generated by bench/webhooks.ts from traced webhooks: one branch per kind of delivery, weighted as the mix',
    '\\set key random(1000000000, 9223372036854775807)',
    `\\set dk random(1, ${DUP_KEYS})`,
    '\\set r random(1, 10000)',
  ];
  const defines: Record<string, string> = {};
  let threshold = 0;
  const used = branches.filter((branch) => shares[branch.kind] > 0);
  used.forEach((branch, index) => {
    threshold += Math.round(shares[branch.kind] * 10_000);
    const last = index === used.length - 1;
    lines.push(index === 0 ? (last ? '\\if true' : `\\if :r <= ${threshold}`) : last ? '\\else' : `\\elif :r <= ${threshold}`);
    lines.push(`-- ${KINDS[branch.kind]} (${(shares[branch.kind] * 100).toFixed(1)}%)`);
    const prefix = `${branch.kind}_`;
    const body = branch.script.text
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('-- generated'))
      .map((line) => line.replace(/(?<!:):(s\d+p\d+)\b/g, `:${prefix}$1`));
    lines.push(...body);
    for (const [name, value] of Object.entries(branch.script.defines)) defines[`${prefix}${name}`] = value;
  });
  lines.push('\\endif');
  return { text: lines.join('\n') + '\n', defines };
}

/** The commit measured, and whether src/ had uncommitted changes (the bench builds the working tree). */
function revision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return `commit ${head}${dirty ? ' with uncommitted changes in src/' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${os.loadavg().map((value) => value.toFixed(2)).join(', ')}`;
  }
}

type Report = {
  options: Options;
  pgVersion: string;
  pgbench: string;
  settings: { name: string; setting: string; unit: string | null }[];
  branches: BranchTrace[];
  serviceRows: Map<string, ServiceRow>;
  pgbenchRows: Map<string, PgbenchRow>;
  extraChecks: RunCheck[];
  profile: { summary: ProfileSummary; events: number } | undefined;
  notifications: { total: number; completed: number };
  serviceViolations: LedgerViolation[];
  finalViolations: LedgerViolation[];
  counts: { invoices: string; adjustments: string; events: string };
  loadBefore: number[];
  loadAfter: number[];
  uptimeBefore: string;
  uptimeAfter: string;
  seconds: number;
};

/** Prints the report; true when every check passed. */
function printReport(report: Report): boolean {
  const { options } = report;
  const cpus = os.cpus();
  const out: string[] = [];
  const setting = (name: string) => report.settings.find((entry) => entry.name === name)?.setting ?? '?';
  const pct = (value: number) => `${value >= 0 ? '+' : ''}${Math.round(value * 100)}%`;

  out.push('', `webhooks benchmark — ${new Date().toISOString()}${options.quick ? ' — QUICK (smoke run: small sizes, figures not meaningful)' : ''}`);
  out.push(
    `machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
    `code: ${revision()}`,
    `node ${process.version}; PostgreSQL ${report.pgVersion} (embedded, fsync=${setting('fsync')}, synchronous_commit=${setting('synchronous_commit')}); ${report.pgbench}`,
    `uptime before: ${report.uptimeBefore}`,
    `uptime after:  ${report.uptimeAfter}`,
    `each run: ${options.warmup} s warm-up (discarded), then ${options.seconds} s measured, at most ${options.maxEvents} deliveries; ` +
      `pgbench -n -M ${options.pgbenchMode} -j ${options.threads} -T ${options.seconds}`,
  );
  const freshShares = kindShares('fresh', options);
  out.push(
    `fresh events: ${FRESH_KINDS.map((kind) => `${(freshShares[kind] * 100).toFixed(1)}% ${KINDS[kind]}`).join(', ')}; ` +
      `each on an invoice of its own (${AMOUNT} due; refunds of ${REFUND} on invoices captured beforehand).`,
    `duplicates mix: ${Math.round(options.dupShare * 100)}% re-deliveries of earlier events of the same run, half the exact same body and signature, half the same payload under a new event id.`,
  );
  for (const branch of report.branches) {
    const statements = branch.script.statements.filter((text) => !/^\s*(begin|commit)\b/i.test(text)).length;
    const commits = branch.script.statements.filter((text) => /^\s*commit\b/i.test(text)).length + branch.autocommit;
    out.push(`  ${KINDS[branch.kind].padEnd(42)} ${statements} statements (BEGIN/COMMIT not counted) in ${commits} transactions, ${branch.autocommit} of them a statement on its own`);
  }

  const headers = ['mix', 'clients', 'events/s', 'p50 ms', 'p99 ms', 'errors', 'checks', '|', 'pgbench tps', 'avg ms', '|', 'ratio'];
  const rows: string[][] = [];
  for (const mix of options.mixes) {
    for (const clients of options.clients) {
      const service = report.serviceRows.get(`${mix}/${clients}`);
      const baseline = report.pgbenchRows.get(`${mix}/${clients}`);
      const errors = service ? Object.values(service.load.errors).reduce((sum, count) => sum + count, 0) : 0;
      rows.push([
        MIXES[mix],
        String(clients),
        fixed(service?.perSecond ?? Number.NaN, 0),
        fixed(service?.latency.p50 ?? Number.NaN, 1),
        fixed(service?.latency.p99 ?? Number.NaN, 1),
        String(errors),
        service ? (service.check.problems.length ? 'FAIL' : 'ok') : '–',
        '|',
        fixed(baseline?.result?.tps ?? Number.NaN, 0),
        fixed(baseline?.result?.latencyMs ?? Number.NaN, 1),
        '|',
        service && baseline?.result ? `${(service.perSecond / baseline.result.tps).toFixed(2)}×` : '–',
      ]);
    }
  }
  out.push('', formatTable(headers, rows, (column) => column > 0));
  out.push(
    'events/s: signed deliveries answered 2xx per second through POST /webhooks/stripe; p50/p99: their latency at the client;',
    "checks: the run's answers, processor_events rows, ledger lines and invoice totals as expected (below); pgbench tps: one",
    "webhook's statements per transaction, the same mix of kinds; avg ms: pgbench's latency; ratio = events/s ÷ pgbench tps.",
  );

  out.push('', 'outcomes, per measured run (expected from the deliveries sent; rows = processor_events of the run)');
  const outcomeRows: string[][] = [];
  for (const row of report.serviceRows.values()) {
    const { check } = row;
    outcomeRows.push([
      MIXES[row.mix],
      String(row.clients),
      `${check.sent}/${row.events}`,
      `${check.answered.processed}/${check.expected.processed}`,
      `${check.answered.duplicate}/${check.expected.duplicate}`,
      `${check.answered.queued}/${check.expected.queued}`,
      `${check.rows.total}/${check.expected.processed + check.expected.queued}`,
      `${check.adjustments.got}/${check.adjustments.expected}`,
      check.captured.got === check.captured.expected && check.refunded.got === check.refunded.expected ? 'ok' : 'FAIL',
      `${Math.round(check.duplicateShare * 100)}%`,
      row.load.stoppedBy,
    ]);
  }
  out.push(
    formatTable(['mix', 'clients', 'sent', 'processed', 'duplicate', 'queued', 'rows', 'ledger lines', 'totals', 'dup share', 'ended by'], outcomeRows, (column) => column > 0 && column < 10),
  );
  const allChecks = [...[...report.serviceRows.values()].map((row) => row.check), ...report.extraChecks];
  const failed = allChecks.filter((check) => check.problems.length > 0);
  out.push(
    `(got/expected. All ${allChecks.length} service runs checked, warm-ups included: ${failed.length === 0 ? 'all as expected' : `${failed.length} with problems`}; ` +
      `queued rows keep replay_requested and a last_replay_error; processed rows have it cleared.)`,
  );
  for (const check of failed) for (const problem of check.problems) out.push(`  PROBLEM: ${problem}`);
  out.push(
    `ledger verify after the service's runs: ${describeViolations(report.serviceViolations)}; after pgbench too: ${describeViolations(report.finalViolations)} ` +
      `(${report.counts.invoices} invoices, ${report.counts.adjustments} ledger lines, ${report.counts.events} processor events)`,
  );

  out.push('', 'Where the time goes, per event: CPU ms from /proc; SQL ms = server-side execution time from pg_stat_statements');
  const costRows: string[][] = [];
  for (const mix of options.mixes) {
    for (const clients of options.clients) {
      const service = report.serviceRows.get(`${mix}/${clients}`);
      const baseline = report.pgbenchRows.get(`${mix}/${clients}`);
      const events = service ? service.check.sent : 0;
      const processed = baseline?.result?.processed ?? 0;
      costRows.push([
        MIXES[mix],
        String(clients),
        fixed(service?.cpuMsPerEvent.node ?? Number.NaN, 2),
        fixed(service?.cpuMsPerEvent.mainThread ?? Number.NaN, 2),
        fixed(service?.cpuMsPerEvent.mainThreadWaiting ?? Number.NaN, 2),
        fixed(service?.cpuMsPerEvent.postgres ?? Number.NaN, 2),
        fixed(service && events ? service.sql.execMs / events : Number.NaN, 2),
        fixed(service && events ? service.sql.calls / events : Number.NaN, 1),
        service ? `${Math.round(service.loopBusy * 100)}%` : '–',
        fixed(service?.otherCores ?? Number.NaN, 2),
        '|',
        fixed(baseline?.cpuMsPerTx.pgbench ?? Number.NaN, 2),
        fixed(baseline?.cpuMsPerTx.postgres ?? Number.NaN, 2),
        fixed(baseline?.sql && processed ? baseline.sql.execMs / processed : Number.NaN, 2),
        fixed(baseline?.sql && processed ? baseline.sql.calls / processed : Number.NaN, 1),
        fixed(baseline?.otherCores ?? Number.NaN, 2),
      ]);
    }
  }
  out.push(
    formatTable(
      ['mix', 'clients', 'node', 'main thread', 'main waiting', 'postgres', 'SQL ms', 'stmts', 'loop busy', 'others', '|', 'pgbench', 'postgres', 'SQL ms', 'stmts', 'others'],
      costRows,
      (column) => column > 0,
    ),
    'service columns, then pgbench\'s: node = the whole Node process (service, pg-boss, the HTTP clients\' worker thread); main thread =',
    "the service's event loop on a CPU; main waiting = ready but waiting for a CPU; stmts = statements per event, BEGIN/COMMIT not",
    "counted (service: also pg-boss's polling and notification worker; pgbench: also the pick of a pool invoice); others = cores",
    'used by processes outside this benchmark during the run (other work on the machine).',
  );
  for (const row of report.serviceRows.values()) {
    if (row.mix !== 'dup') continue;
    out.push(
      `latency by kind, ${MIXES.dup}, ${row.clients} clients: fresh p50 ${fixed(row.latencyFresh.p50)} ms / p99 ${fixed(row.latencyFresh.p99)} ms, ` +
        `duplicates p50 ${fixed(row.latencyDuplicate.p50)} ms / p99 ${fixed(row.latencyDuplicate.p99)} ms`,
    );
  }
  const topRow = report.serviceRows.get(`fresh/${Math.max(...options.clients)}`) ?? [...report.serviceRows.values()].at(-1);
  if (topRow && topRow.check.sent) {
    out.push('', `service, ${MIXES[topRow.mix]}, ${topRow.clients} clients: slowest statements on the server (ms per event, calls per event)`);
    for (const statement of topRow.sql.top.slice(0, 8)) {
      out.push(`  ${(statement.execMs / topRow.check.sent).toFixed(3).padStart(7)} ms  ${(statement.calls / topRow.check.sent).toFixed(2).padStart(5)}×  ${firstLine(statement.query, 100)}`);
    }
  }
  for (const [key, row] of report.pgbenchRows) if (row.error) out.push(`pgbench ${key}: ${row.error}`);
  for (const row of report.serviceRows.values()) {
    if (Object.keys(row.load.errors).length) out.push(`service ${row.mix}/${row.clients} errors: ${JSON.stringify(row.load.errors)}`);
  }
  out.push(
    '',
    `capture notifications enqueued by the service's webhooks: ${report.notifications.total}, delivered by its worker while it ran: ${report.notifications.completed}`,
  );
  const buildMs = [...report.serviceRows.values()].map((row) => row.buildMs / Math.max(1, row.events));
  out.push(`building and signing the deliveries (before each run, not measured): ${fixed(Math.max(...buildMs) * 1000, 0)} µs per delivery at most`);

  if (report.profile) {
    const { summary, events } = report.profile;
    const per = (ms: number) => (events ? (ms / events).toFixed(3) : '–');
    out.push(
      '',
      `CPU profile of the service's event loop (extra fresh run, ${Math.max(...options.clients)} clients, ${events} events; profiling slows it down):`,
      `sampled busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms (wall-clock samples: time preempted is charged to what was running)`,
      'self time by owner (ms per event, share of busy):',
      ...summary.byOwner.slice(0, 12).map((row) => `  ${per(row.ms).padStart(7)}  ${((row.ms / summary.busyMs) * 100).toFixed(1).padStart(5)}%  ${row.owner}`),
      'charged to the nearest library/app frame on the stack:',
      ...summary.byCaller.slice(0, 10).map((row) => `  ${per(row.ms).padStart(7)}  ${((row.ms / summary.busyMs) * 100).toFixed(1).padStart(5)}%  ${row.owner}`),
      'hottest functions (self time, share of busy):',
      ...summary.topFunctions.slice(0, 12).map((row) => `  ${((row.ms / summary.busyMs) * 100).toFixed(1).padStart(5)}%  ${row.name}`),
    );
  }

  out.push('', `conclusion: ${conclusion(report, pct)}`, `(whole benchmark: ${report.seconds.toFixed(0)} s)`);
  console.log(out.join('\n'));
  return failed.length === 0 && report.serviceViolations.length === 0 && report.finalViolations.length === 0 && [...report.pgbenchRows.values()].every((row) => !row.error);
}

function describeViolations(violations: LedgerViolation[]): string {
  if (violations.length === 0) return 'OK';
  const first = violations[0]!;
  return `${violations.length} VIOLATIONS (first: ${first.rule}, invoice ${first.invoiceId}: ${first.detail})`;
}

/** The conclusion, from the numbers of this run only. */
function conclusion(report: Report, pct: (value: number) => string): string {
  const { options } = report;
  const parts: string[] = [];
  const range = (values: number[], digits = 2, suffix = '×') => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0) return '–';
    const low = Math.min(...finite);
    const high = Math.max(...finite);
    return low.toFixed(digits) === high.toFixed(digits) ? `${low.toFixed(digits)}${suffix}` : `${low.toFixed(digits)}–${high.toFixed(digits)}${suffix}`;
  };
  const ratio = (mix: MixName, clients: number) => {
    const service = report.serviceRows.get(`${mix}/${clients}`);
    const baseline = report.pgbenchRows.get(`${mix}/${clients}`)?.result;
    return service && baseline ? service.perSecond / baseline.tps : Number.NaN;
  };
  const low = Math.min(...options.clients);
  const high = Math.max(...options.clients);
  for (const mix of options.mixes) {
    const rates = options.clients.map((clients) => report.serviceRows.get(`${mix}/${clients}`)?.perSecond ?? Number.NaN);
    parts.push(
      `${MIXES[mix]}: the service answers ${range(rates, 0, '')} events/s, ${range(options.clients.map((clients) => ratio(mix, clients)))} of pgbench's rate on the same statements`,
    );
  }
  if (options.mixes.includes('fresh') && options.mixes.includes('dup')) {
    const changes = options.clients.map((clients) => {
      const fresh = report.serviceRows.get(`fresh/${clients}`)?.perSecond ?? Number.NaN;
      const dup = report.serviceRows.get(`dup/${clients}`)?.perSecond ?? Number.NaN;
      return dup / fresh - 1;
    });
    const dupRow = report.serviceRows.get(`dup/${high}`);
    parts.push(
      `with ${Math.round(options.dupShare * 100)}% duplicates the service's rate changes ${changes.map((change) => (Number.isFinite(change) ? pct(change) : '–')).join(' / ')} ` +
        `(at ${options.clients.join(' / ')} clients)` +
        (dupRow ? `; a duplicate is answered in ${fixed(dupRow.latencyDuplicate.p50)} ms at p50 against ${fixed(dupRow.latencyFresh.p50)} ms for a fresh event (${high} clients)` : ''),
    );
  }
  if (low !== high) {
    for (const mix of options.mixes.slice(0, 1)) {
      const a = report.serviceRows.get(`${mix}/${low}`);
      const b = report.serviceRows.get(`${mix}/${high}`);
      if (a && b) {
        parts.push(
          `from ${low} to ${high} clients (${MIXES[mix]}) throughput changes ${pct(b.perSecond / a.perSecond - 1)} while p99 goes ${fixed(a.latency.p99)} → ${fixed(b.latency.p99)} ms`,
        );
      }
    }
  }
  const top = report.serviceRows.get(`fresh/${high}`) ?? report.serviceRows.get(`${options.mixes[0]}/${high}`);
  const baseline = report.pgbenchRows.get(`fresh/${high}`) ?? report.pgbenchRows.get(`${options.mixes[0]}/${high}`);
  if (top && top.check.sent) {
    const cores = os.cpus().length;
    const cpu = top.cpuMsPerEvent.node + top.cpuMsPerEvent.postgres;
    parts.push(
      `an event costs ${fixed(top.cpuMsPerEvent.node, 1)} ms of Node CPU (${fixed(top.cpuMsPerEvent.mainThread, 1)} ms on the event loop, which is ${Math.round(top.loopBusy * 100)}% busy) ` +
        `and ${fixed(top.cpuMsPerEvent.postgres, 1)} ms of Postgres CPU` +
        (baseline?.result ? ` (pgbench's transaction: ${fixed(baseline.cpuMsPerTx.postgres, 1)} ms of Postgres CPU)` : '') +
        `, so ${cores} cores cap it near ${fixed((cores * 1000) / cpu, 0)} events/s` +
        (top.otherCores > 0.3 ? ` — other processes used ${fixed(top.otherCores, 1)} cores meanwhile, so these figures are low` : ''),
    );
  }
  const checks = [...report.serviceRows.values()].every((row) => row.check.problems.length === 0) && report.extraChecks.every((check) => check.problems.length === 0);
  parts.push(
    checks && report.serviceViolations.length === 0 && report.finalViolations.length === 0
      ? 'every run ended with the expected answers, one processor_events row per distinct event, the expected ledger lines and totals, and the ledger check passing'
      : 'SOME CHECKS FAILED (see above)',
  );
  return parts.join('; ') + '.';
}
