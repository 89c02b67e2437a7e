import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { like } from 'drizzle-orm';
import postgres from 'postgres';
import { processorEvents } from '../src/db/schema/index.js';
import type { Deps } from '../src/domain/deps.js';
import { recordProcessorEvent } from '../src/domain/processor-events/record-processor-event.js';
import { scheduleReplays } from '../src/domain/processor-events/schedule-replays.js';
import { stripeEventEnvelope, toIncomingEvent } from '../src/domain/processor-events/stripe-event.js';
import { projectRoot } from '../src/paths.js';
import { freePort } from '../test/support/ports.js';
import { charge, newPayment, paymentIntent, stripeEvent } from '../test/support/stripe-events.js';
import { clusterCpuSeconds, machineBusySeconds, processCpuSeconds } from './support/cpu.js';
import { startBenchCommand } from './support/command-service.js';
import { wholeNumber, wholeNumbers } from './support/options.js';
import { readStatementStats, resetStatementStats } from './support/pg-stats.js';
import { startBenchPostgres } from './support/postgres.js';
import { waitForReady } from './support/ready.js';
import { fixed, formatTable } from './support/table.js';

export const description = 'replay drain: N events owed a replay, applied by 1 and by 2 `worker` processes (events/s, ratio, exactly once)';

const USAGE = `npm run bench -- replay-drain [options]

N Stripe events (charge.captured and payment_intent.succeeded, half each, every one on an open invoice
of its own) are stored with recordProcessorEvent and owed an operator's replay with scheduleReplays, in
one transaction committed while the worker processes already run and are ready; the drain is timed from
that commit until every event has been applied. Rounds alternate the worker counts, repeated.

  --events 20000      events per round
  --workers 1,2       worker processes per round (each \`node dist/src/main.js worker\`)
  --repeats 3         rounds per worker count, interleaved
  --db-pool N         DB_POOL_SIZE of each worker (the service's default otherwise)
  --timeout 600       seconds a round may take before the bench gives up
  --profile           V8 CPU profile of each worker process (node --cpu-prof), summarised per round and kept
  --statements        the statements per event on the server (pg_stat_statements), per round
`;

const AMOUNT = 2_500;

type Options = { events: number; workers: number[]; repeats: number; dbPool?: number; timeoutSeconds: number; profile: boolean; statements: boolean };
type Round = { workers: number; repeat: number; events: number; seconds: number; rate: number; workerCpu: number; postgresCpu: number; others: number; problems: string[] };

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string', default: '20000' },
      workers: { type: 'string', default: '1,2' },
      repeats: { type: 'string', default: '3' },
      'db-pool': { type: 'string' },
      timeout: { type: 'string', default: '600' },
      profile: { type: 'boolean', default: false },
      statements: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const options: Options = {
    events: wholeNumber('events', values.events, 1, 1_000_000),
    workers: wholeNumbers('workers', values.workers, 1, 16),
    repeats: wholeNumber('repeats', values.repeats, 1, 100),
    ...(values['db-pool'] ? { dbPool: wholeNumber('db-pool', values['db-pool'], 1, 100) } : {}),
    timeoutSeconds: wholeNumber('timeout', values.timeout, 1, 86_400),
    profile: values.profile,
    statements: values.statements,
  };
  const mainJs = path.join(projectRoot(), 'dist/src/main.js');
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` (npm run bench does)`);

  const started = performance.now();
  const pg = await startBenchPostgres({ pgStatStatements: options.statements });
  const setup = postgres(pg.url, { max: 2, onnotice: () => {} });
  const command = await startBenchCommand(pg.url, { DB_STATEMENT_TIMEOUT_MS: '600000' });
  const rounds: Round[] = [];
  let verified = '';
  try {
    const [workspace] = await setup<{ id: string }[]>`
      INSERT INTO workspaces (name, slug, billing_pilot) VALUES ('Replay drain bench', ${`drain-${randomUUID().slice(0, 8)}`}, false) RETURNING id`;
    const loadBefore = loadavg();
    console.log(`replay drain benchmark — ${new Date().toISOString()}`);
    console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}); node ${process.version}; PostgreSQL ${pg.version} (embedded)`);
    console.log(`load average before ${loadBefore.map((n) => n.toFixed(2)).join(' ')}`);
    console.log(`${options.events} events per round; worker counts ${options.workers.join(', ')}; ${options.repeats} repeats, interleaved\n`);
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      // Alternate the order, so that a drift in the machine's other load does not favour one count.
      const order = repeat % 2 === 1 ? options.workers : [...options.workers].reverse();
      for (const workers of order) {
        const round = await drainRound(pg.url, pg.postmasterPid(), command.deps, setup, workspace!.id, workers, repeat, options, mainJs);
        rounds.push(round);
        console.log(
          `round ${rounds.length}: ${workers} worker${workers > 1 ? 's' : ''}, ${round.events} events in ${fixed(round.seconds, 2)} s = ${fixed(round.rate, 0)} events/s` +
            `${round.problems.length ? `; PROBLEMS: ${round.problems.join('; ')}` : '; each applied exactly once'}`,
        );
      }
    }
    verified = await ledgerVerify(mainJs, pg.url);
  } finally {
    await command.stop();
    await setup.end({ timeout: 5 });
    await pg.stop();
  }

  const byCount = options.workers.map((workers) => ({ workers, rates: rounds.filter((round) => round.workers === workers).map((round) => round.rate).sort((a, b) => a - b) }));
  const rows = byCount.map(({ workers, rates }) => {
    const mine = rounds.filter((round) => round.workers === workers);
    const perEvent = (field: 'workerCpu' | 'postgresCpu') => (mine.reduce((sum, round) => sum + round[field], 0) / mine.reduce((sum, round) => sum + round.events, 0)) * 1000;
    return [
      String(workers),
      fixed(rates[0]!, 0),
      fixed(median(rates), 0),
      fixed(rates[rates.length - 1]!, 0),
      fixed(perEvent('workerCpu'), 2),
      fixed(perEvent('postgresCpu'), 2),
      fixed(mine.reduce((sum, round) => sum + round.others, 0) / mine.length, 2),
    ];
  });
  console.log(`\n${formatTable(['workers', 'min ev/s', 'median ev/s', 'max ev/s', 'worker CPU ms/ev', 'postgres CPU ms/ev', 'others (cores)'], rows)}`);
  console.log('worker CPU: all worker processes together; others: cores used outside this benchmark during the drains (other work on the machine)');
  const one = byCount.find((entry) => entry.workers === 1);
  for (const entry of byCount) {
    if (!one || entry.workers === 1) continue;
    const ratios = entry.rates.length === one.rates.length ? pairedRatios(rounds, entry.workers) : [];
    console.log(
      `${entry.workers} workers ÷ 1 worker: ${fixed(median(entry.rates) / median(one.rates), 2)}× (medians)` +
        (ratios.length ? `; per repeat ${ratios.map((ratio) => `${fixed(ratio, 2)}×`).join(', ')}` : ''),
    );
  }
  const problems = rounds.flatMap((round, index) => round.problems.map((problem) => `round ${index + 1}: ${problem}`));
  console.log(`exactly once: ${problems.length ? `NO\n  ${problems.join('\n  ')}` : `yes — every event PROCESSED with one replay attempt and one ledger line for its amount, in all ${rounds.length} rounds`}`);
  console.log(`ledger verify: ${verified}`);
  console.log(`load average after ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  console.log(`(whole benchmark: ${fixed((performance.now() - started) / 1000, 0)} s)`);
  return problems.length || !verified.startsWith('OK') ? 1 : 0;
}

/** One round: fresh invoices and events, `workers` processes started and ready, the replays committed, timed until all applied. */
async function drainRound(
  databaseUrl: string,
  postmasterPid: number,
  deps: Deps,
  setup: postgres.Sql,
  workspaceId: string,
  workers: number,
  repeat: number,
  options: Options,
  mainJs: string,
): Promise<Round> {
  const tag = `evt_drain_${randomUUID().slice(0, 8)}_`;
  const invoiceIds = (
    await setup<{ id: string }[]>`
      INSERT INTO invoices (workspace_id, number, currency, amount_due)
      SELECT ${workspaceId}, 'DR-' || gen_random_uuid(), 'USD', ${AMOUNT}::bigint FROM generate_series(1, ${options.events})
      RETURNING id`
  ).map((row) => row.id);
  // Stored as the webhook route stores them: recordProcessorEvent, RECEIVED and flagged for replay.
  for (let i = 0; i < invoiceIds.length; i += 200) {
    await Promise.all(
      invoiceIds.slice(i, i + 200).map(async (invoiceId, j) => {
        const payment = newPayment(invoiceId, AMOUNT);
        const body = (i + j) % 2 === 0 ? stripeEvent('charge.captured', charge(payment, AMOUNT)) : stripeEvent('payment_intent.succeeded', paymentIntent(payment, AMOUNT));
        const stored = await recordProcessorEvent(deps.db, toIncomingEvent(stripeEventEnvelope.parse({ ...body, id: `${tag}${i + j}` })));
        if (!stored.inserted) throw new Error('an event was not stored');
      }),
    );
  }
  await setup`ANALYZE`;

  const profileDir = options.profile ? await mkdtemp(path.join(tmpdir(), 'replay-drain-profile-')) : undefined;
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(mainJs, databaseUrl, options.dbPool, profileDir)));
  if (options.statements) await resetStatementStats(setup);
  try {
    const cpuBefore = { workers: children.map((child) => processCpuSeconds(child.process.pid!)), postgres: clusterCpuSeconds(postmasterPid), machine: machineBusySeconds() };
    // The operator's replay of every event, owed in one transaction: the workers see them all at once.
    await deps.db.transaction((tx) => scheduleReplays(tx, deps.jobs, like(processorEvents.externalId, `${tag}%`), 'operator'));
    const committed = performance.now();
    const deadline = committed + options.timeoutSeconds * 1000;
    for (;;) {
      // The partial index of the events owed a replay (only this round's are): cheap however many events are stored.
      const [row] = await setup<{ n: number }[]>`SELECT count(*)::int AS n FROM processor_events WHERE replay_due_at IS NOT NULL`;
      if (row!.n === 0) break;
      if (performance.now() > deadline) throw new Error(`round not drained after ${options.timeoutSeconds} s: ${row!.n} events still owed`);
      for (const child of children) if (child.process.exitCode !== null) throw new Error(`a worker exited (${child.process.exitCode}):\n${child.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (performance.now() - committed) / 1000;
    const workerCpu = children.reduce((sum, child, index) => sum + processCpuSeconds(child.process.pid!) - cpuBefore.workers[index]!, 0);
    const postgresCpu = clusterCpuSeconds(postmasterPid) - cpuBefore.postgres;
    const machine = machineBusySeconds() - cpuBefore.machine;
    if (options.statements) {
      const stats = await readStatementStats(setup, 25);
      console.log(`  statements per event: ${fixed(stats.calls / options.events, 1)}, server time ${fixed(stats.execMs / options.events, 3)} ms per event`);
      for (const statement of stats.top) console.log(`  ${fixed(statement.calls / options.events, 2).padStart(6)}×  ${fixed(statement.execMs / options.events, 3)} ms  ${statement.query.replace(/\s+/g, ' ').slice(0, 140)}`);
    }
    return {
      workers,
      repeat,
      events: options.events,
      seconds,
      rate: options.events / seconds,
      workerCpu,
      postgresCpu,
      others: Math.max(0, (machine - workerCpu - postgresCpu) / seconds),
      problems: await checkExactlyOnce(setup, tag, options.events),
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    if (profileDir) await printProfiles(profileDir);
  }
}

/** The workers' CPU profiles (written as they exit), for Chrome DevTools or speedscope. */
async function printProfiles(dir: string): Promise<void> {
  for (const file of await readdir(dir)) console.log(`  worker profile: ${path.join(dir, file)}`);
}

/** Every event of the round PROCESSED, its replay counted once, and one ledger line for its amount per invoice. */
async function checkExactlyOnce(setup: postgres.Sql, tag: string, events: number): Promise<string[]> {
  const [row] = await setup<{ processed: number; once: number; lines: number; one_line_each: number; captured_right: number }[]>`
    WITH e AS (SELECT id, invoice_id, outcome, replay_attempts FROM processor_events WHERE external_id LIKE ${`${tag}%`}),
    l AS (
      SELECT e.id, count(a.id) AS n, coalesce(sum(a.amount), 0) AS total
      FROM e LEFT JOIN invoice_adjustments a ON a.invoice_id = e.invoice_id
      GROUP BY e.id
    )
    SELECT (SELECT count(*)::int FROM e WHERE outcome = 'PROCESSED') AS processed,
           (SELECT count(*)::int FROM e WHERE replay_attempts = 1) AS once,
           (SELECT coalesce(sum(n), 0)::int FROM l) AS lines,
           (SELECT count(*)::int FROM l WHERE n = 1 AND total = ${AMOUNT}) AS one_line_each,
           (SELECT count(*)::int FROM e JOIN invoices i ON i.id = e.invoice_id WHERE i.amount_captured = ${AMOUNT}) AS captured_right`;
  const problems: string[] = [];
  if (row!.processed !== events) problems.push(`${row!.processed} of ${events} events PROCESSED`);
  if (row!.once !== events) problems.push(`${row!.once} of ${events} events with exactly one replay attempt`);
  if (row!.lines !== events || row!.one_line_each !== events) problems.push(`${row!.lines} ledger lines, ${row!.one_line_each} of ${events} invoices with exactly one line of ${AMOUNT}`);
  if (row!.captured_right !== events) problems.push(`${row!.captured_right} of ${events} invoices captured ${AMOUNT}`);
  return problems;
}

type Worker = { process: ChildProcess; output(): string; stop(): Promise<void> };

/** `main.js worker`, as production runs it, ready once its health port answers /readyz (its workers are registered by then). */
async function startWorker(mainJs: string, databaseUrl: string, dbPool: number | undefined, profileDir: string | undefined): Promise<Worker> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), mainJs, 'worker'], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      BILLING_GATEWAY: 'synthetic',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      DEMO_SEED: 'false',
      DEV_OPERATOR_TOKEN: 'false',
      ...(dbPool ? { DB_POOL_SIZE: String(dbPool) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const worker: Worker = {
    process: child,
    output: () => lines.join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
  try {
    await waitForReady(`http://127.0.0.1:${port}`, () => child.exitCode, () => `a worker\n${worker.output()}`);
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return worker;
}

/** `ledger verify` on the bench database, as the killed-worker test runs it (the events are Stripe's, not the synthetic processor's). */
async function ledgerVerify(mainJs: string, databaseUrl: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [mainJs, 'ledger', 'verify'], {
      env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', DEMO_SEED: 'false', BILLING_GATEWAY: 'stripe', STRIPE_SECRET_KEY: 'sk_test_never_called' },
    });
    return `OK (${stdout.trim().split('\n').pop()})`;
  } catch (error) {
    return `FAILED: ${(error as { stdout?: string }).stdout ?? (error as Error).message}`;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The rate of `workers` over the one-worker rate of the same repeat. */
function pairedRatios(rounds: Round[], workers: number): number[] {
  const ratios: number[] = [];
  for (const round of rounds.filter((entry) => entry.workers === workers)) {
    const single = rounds.find((entry) => entry.workers === 1 && entry.repeat === round.repeat);
    if (single) ratios.push(round.rate / single.rate);
  }
  return ratios;
}
