import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createApiToken } from '../src/domain/auth/tokens.js';
import { projectRoot } from '../src/paths.js';
import { freePort } from '../test/support/ports.js';
import { WEBHOOK_SECRET } from '../test/support/stripe-events.js';
import { runPacedCannon, type CannonResult } from './support/cannon.js';
import { startBenchCommand } from './support/command-service.js';
import { wholeNumber } from './support/options.js';
import { startBenchPostgres } from './support/postgres.js';
import { runWorker } from './support/run-worker.js';
import { waitForReady } from './support/ready.js';
import { fixed, formatTable } from './support/table.js';
import type { SoakLoadSpec } from './soak-load-worker.js';

export const description = 'memory soak: the service (`start`: API and workers in one process) under steady mixed traffic for --minutes; RSS and heap every minute, and their trend';

const USAGE = `npm run bench -- soak [options]

The real service, \`node dist/src/main.js start\` in a child process of its own (so its memory is its own,
not the load generator's), on a throw-away embedded Postgres, under paced, steady traffic from autocannon
threads: fresh signed Stripe webhooks (charge.captured, each capturing an open invoice), captureInvoice
mutations (1 minor unit, a fresh idempotency key each), and GraphQL reads of an invoice with its ledger
and timeline. The service's RSS (/proc) and V8 heap used (its /metrics) are sampled every 10 s and printed
every minute; the trend is the slope of RSS (least squares) over the first and the last half.

  --minutes 10          how long the traffic runs
  --webhooks 10         webhooks per second
  --captures 10         captures per second
  --reads 20            reads per second
  --heap-snapshot       at the end, a V8 heap snapshot of the service (SIGUSR2, --heapsnapshot-signal),
                        which collects garbage first: heap used after it, and the largest constructors
`;

const READ = `query Soak($id: UUID!) { invoice(id: $id) { id status amountCaptured adjustments { id amount } timeline { id type } } }`;
const PROBE_CAPTURE = `mutation Capture($input: CaptureInvoiceInput!) { captureInvoice(input: $input) { attempt { id status } } }`;
const SAMPLE_SECONDS = 10;
const WEBHOOK_AMOUNT = 1_500;

type Sample = { atSeconds: number; rssMb: number; heapUsedMb: number };

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '10' },
      webhooks: { type: 'string', default: '10' },
      captures: { type: 'string', default: '10' },
      reads: { type: 'string', default: '20' },
      'heap-snapshot': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const minutes = wholeNumber('minutes', values.minutes, 1, 24 * 60);
  const rates = { webhooks: wholeNumber('webhooks', values.webhooks, 0, 10_000), captures: wholeNumber('captures', values.captures, 0, 10_000), reads: wholeNumber('reads', values.reads, 0, 10_000) };
  const seconds = minutes * 60;
  const mainJs = path.join(projectRoot(), 'dist/src/main.js');
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` (npm run bench does)`);

  const started = performance.now();
  const pg = await startBenchPostgres();
  const setup = postgres(pg.url, { max: 2, onnotice: () => {} });
  let service: ServiceProcess | undefined;
  try {
    const snapshotDir = values['heap-snapshot'] ? await mkdtemp(path.join(tmpdir(), 'soak-heap-')) : undefined;
    service = await startServiceProcess(mainJs, pg.url, snapshotDir);
    const command = await startBenchCommand(pg.url);
    const { token } = await createApiToken(command.deps.db, { name: 'soak operator', role: 'OPERATOR' });
    await command.stop();
    const [workspace] = await setup<{ id: string }[]>`
      INSERT INTO workspaces (name, slug, billing_pilot) VALUES ('Soak', ${`soak-${randomUUID().slice(0, 8)}`}, true) RETURNING id`;
    // One open invoice per webhook (each is captured whole by its event), 200 large ones the captures
    // take turns on, and one the reads read.
    const openInvoices = await createInvoices(setup, workspace!.id, Math.max(1, Math.ceil(rates.webhooks * seconds * 1.1)), WEBHOOK_AMOUNT);
    const captureInvoices = await createInvoices(setup, workspace!.id, 200, 1_000_000_000, true);
    const [readInvoice] = await createInvoices(setup, workspace!.id, 1, 10_000);
    await setup`ANALYZE`;

    console.log(`memory soak — ${new Date().toISOString()}`);
    console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}); node ${process.version}; PostgreSQL ${pg.version} (embedded); load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
    console.log(`service: node dist/src/main.js start (pid ${service.process.pid}); traffic for ${minutes} min: ${rates.webhooks} webhooks/s, ${rates.captures} captures/s, ${rates.reads} reads/s\n`);

    // One request of each kind first: a load of refusals would soak nothing.
    const probe = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: PROBE_CAPTURE, variables: { input: { invoiceId: captureInvoices[0], amount: 1, idempotencyKey: randomUUID() } } }),
    }).then((response) => response.text());
    if (!probe.includes('"SUCCEEDED"')) throw new Error(`a capture did not succeed: ${probe}`);

    const samples: Sample[] = [];
    const sample = async (atSeconds: number) => {
      const entry = { atSeconds, rssMb: rssMb(service!.process.pid!), heapUsedMb: await heapUsedMb(service!.url) };
      samples.push(entry);
      return entry;
    };
    const before = await sample(0);
    console.log(`before the traffic: RSS ${fixed(before.rssMb)} MB, heap used ${fixed(before.heapUsedMb)} MB`);
    const rows: string[][] = [];
    const loadStarted = performance.now();
    const sampler = setInterval(() => {
      const at = Math.round((performance.now() - loadStarted) / 1000);
      void sample(at).then((entry) => {
        if (at % 60 < SAMPLE_SECONDS / 2 || 60 - (at % 60) < SAMPLE_SECONDS / 2) {
          console.log(`  minute ${Math.round(at / 60)}: RSS ${fixed(entry.rssMb)} MB, heap used ${fixed(entry.heapUsedMb)} MB`);
          rows.push([String(Math.round(at / 60)), fixed(entry.rssMb), fixed(entry.heapUsedMb)]);
        }
      });
    }, SAMPLE_SECONDS * 1000);

    const load = (kind: SoakLoadSpec['kind'], rate: number, invoiceIds: string[], amount: number): Promise<CannonResult> | undefined =>
      rate === 0
        ? undefined
        : runWorker<CannonResult>(
            new URL('./soak-load-worker.js', import.meta.url),
            { kind, baseUrl: service!.url, token, webhookSecret: WEBHOOK_SECRET, invoiceIds, amount, connections: Math.max(2, Math.ceil(rate / 5)), seconds, rate } satisfies SoakLoadSpec,
            seconds * 1000,
            `soak ${kind}`,
          );
    const readBody = JSON.stringify({ query: READ, variables: { id: readInvoice } });
    const [webhooks, captures, reads] = await Promise.all([
      load('webhook', rates.webhooks, openInvoices, WEBHOOK_AMOUNT),
      load('capture', rates.captures, captureInvoices, 1),
      rates.reads === 0
        ? undefined
        : runPacedCannon(
            { url: `${service.url}/graphql`, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: readBody, connections: Math.max(2, Math.ceil(rates.reads / 5)), seconds, rate: rates.reads },
            2,
          ),
    ]);
    clearInterval(sampler);
    const after = await sample(Math.round((performance.now() - loadStarted) / 1000));
    // A quiet minute later: what the service gives back once the traffic has stopped.
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    const settled = { rssMb: rssMb(service.process.pid!), heapUsedMb: await heapUsedMb(service.url) };

    console.log(`\n${formatTable(['minute', 'RSS MB', 'heap used MB'], [['before', fixed(before.rssMb), fixed(before.heapUsedMb)], ...rows, ['after', fixed(after.rssMb), fixed(after.heapUsedMb)], ['+30 s idle', fixed(settled.rssMb), fixed(settled.heapUsedMb)]])}`);
    const loaded = samples.filter((entry) => entry.atSeconds > 0);
    const half = Math.floor(loaded.length / 2);
    const firstSlope = slopePerMinute(loaded.slice(0, half), 'rssMb');
    const lastSlope = slopePerMinute(loaded.slice(half), 'rssMb');
    const heapLast = slopePerMinute(loaded.slice(half), 'heapUsedMb');
    console.log(`\nRSS trend (least squares over the ${SAMPLE_SECONDS}-s samples): first half ${fixed(firstSlope, 2)} MB/min, last half ${fixed(lastSlope, 2)} MB/min; heap used, last half ${fixed(heapLast, 2)} MB/min`);
    console.log(`RSS after − before: ${fixed(after.rssMb - before.rssMb)} MB; last half vs first half mean: ${fixed(mean(loaded.slice(half), 'rssMb') - mean(loaded.slice(0, half), 'rssMb'))} MB`);

    const traffic = [
      ['webhooks', webhooks],
      ['captures', captures],
      ['reads', reads],
    ] as const;
    const trafficRows = traffic
      .filter(([, result]) => result)
      .map(([name, result]) => {
        const total = Object.values(result!.statuses).reduce((sum, n) => sum + n, 0);
        const ok = result!.accepted.length;
        const sorted = [...result!.accepted].sort((a, b) => a - b);
        return [name, fixed(total / result!.seconds, 1), String(ok), String(total - ok), String(result!.timeouts + result!.errors), fixed(sorted[Math.floor(sorted.length * 0.5)] ?? NaN, 1), fixed(sorted[Math.floor(sorted.length * 0.99)] ?? NaN, 1)];
      });
    console.log(`\n${formatTable(['traffic', 'answered/s', '2xx', 'other', 'timeouts+errors', 'p50 ms', 'p99 ms'], trafficRows)}`);
    const [counts] = await setup<{ processed: number; captures: number }[]>`
      SELECT (SELECT count(*)::int FROM processor_events WHERE outcome = 'PROCESSED') AS processed,
             (SELECT count(*)::int FROM payment_attempts WHERE kind = 'CAPTURE' AND status = 'SUCCEEDED') AS captures`;
    console.log(`stored: ${counts!.processed} webhooks processed, ${counts!.captures} captures succeeded`);
    if (snapshotDir) await heapSnapshot(service, snapshotDir);
    console.log(`load average at the end ${loadavg().map((n) => n.toFixed(2)).join(' ')}; (whole benchmark: ${fixed((performance.now() - started) / 1000, 0)} s)`);
    return 0;
  } finally {
    await service?.stop();
    await setup.end({ timeout: 5 });
    await pg.stop();
  }
}

/** Open invoices; with `withPaymentIntent`, each names a payment intent, as a capture needs. */
async function createInvoices(setup: postgres.Sql, workspaceId: string, count: number, amountDue: number, withPaymentIntent = false): Promise<string[]> {
  const rows = await setup<{ id: string }[]>`
    INSERT INTO invoices (workspace_id, number, currency, amount_due, payment_intent_id)
    SELECT ${workspaceId}, 'SOAK-' || gen_random_uuid(), 'USD', ${amountDue}::bigint, CASE WHEN ${withPaymentIntent} THEN 'pi_soak_' || md5(random()::text) END
    FROM generate_series(1, ${count})
    RETURNING id`;
  return rows.map((row) => row.id);
}

type ServiceProcess = { process: ChildProcess; url: string; stop(): Promise<void> };

async function startServiceProcess(mainJs: string, databaseUrl: string, snapshotDir: string | undefined): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(snapshotDir ? ['--heapsnapshot-signal=SIGUSR2'] : []), mainJs, 'start'], {
    ...(snapshotDir ? { cwd: snapshotDir } : {}),
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      BILLING_GATEWAY: 'synthetic',
      BILLING_ROLLOUT_STAGE: 'GENERAL',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      DEMO_SEED: 'false',
      DEV_OPERATOR_TOKEN: 'false',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const service: ServiceProcess = {
    process: child,
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
  try {
    await waitForReady(url, () => child.exitCode, () => 'the service (its log is on this terminal)');
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}

/** A heap snapshot (V8 collects garbage before writing it): heap used after, and self size by constructor. */
async function heapSnapshot(service: ServiceProcess, dir: string): Promise<void> {
  service.process.kill('SIGUSR2');
  let file: string | undefined;
  for (let size = -1; ; ) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    file = (await readdir(dir)).find((name) => name.endsWith('.heapsnapshot'));
    if (!file) continue;
    const now = (await stat(path.join(dir, file))).size;
    if (now === size && now > 0) break;
    size = now;
  }
  console.log(`\nheap snapshot ${path.join(dir, file)}: heap used after its full GC ${fixed(await heapUsedMb(service.url))} MB, RSS ${fixed(rssMb(service.process.pid!))} MB`);
  const snapshot = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const types = snapshot.snapshot.meta.node_types[0];
  const totals = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt!]!]!;
    const name = type === 'object' || type === 'closure' ? snapshot.strings[snapshot.nodes[i + nameAt!]!]! : `(${type})`;
    const entry = totals.get(name) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[i + sizeAt!]!;
    totals.set(name, entry);
  }
  const top = [...totals].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 15);
  console.log(formatTable(['constructor', 'objects', 'self MB'], top.map(([name, entry]) => [name.slice(0, 60), String(entry.count), fixed(entry.bytes / 1024 / 1024, 1)])));
}

function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** prom-client's default metric, from the service's own /metrics. */
async function heapUsedMb(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^nodejs_heap_size_used_bytes\s+([\d.e+]+)/m.exec(text);
  return match ? Number(match[1]) / 1024 / 1024 : Number.NaN;
}

function slopePerMinute(samples: Sample[], field: 'rssMb' | 'heapUsedMb'): number {
  if (samples.length < 2) return Number.NaN;
  const xs = samples.map((entry) => entry.atSeconds / 60);
  const ys = samples.map((entry) => entry[field]);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const num = xs.reduce((sum, x, i) => sum + (x - mx) * (ys[i]! - my), 0);
  const den = xs.reduce((sum, x) => sum + (x - mx) ** 2, 0);
  return num / den;
}

const mean = (samples: Sample[], field: 'rssMb' | 'heapUsedMb'): number => samples.reduce((sum, entry) => sum + entry[field], 0) / samples.length;
