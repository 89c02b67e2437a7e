import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { loadConfig } from '../src/config.js';
import { createApiToken } from '../src/domain/auth/tokens.js';
import { runCannon, runPacedCannon, type CannonResult, type CannonSpec } from './support/cannon.js';
import { pinProcessTree, pinThisThread } from './support/pin.js';
import { wholeNumber } from './support/options.js';
import { startBenchPostgres } from './support/postgres.js';
import { startBenchService } from './support/service.js';
import { summarize } from './support/stats.js';
import { fixed, formatTable } from './support/table.js';

/**
 * Admission control under overload, A/B in one run on one database. Two copies of the service: one with
 * the in-flight bound (`HTTP_MAX_IN_FLIGHT`, the default unless --limit), one without (a bound no load
 * reaches). Each gets the same GraphQL read (an invoice with its ledger lines and timeline):
 * 1. unloaded: one connection, one request at a time — the p99 to compare with;
 * 2. capacity: closed loop on many connections against the unbounded copy — the sustainable rate;
 * 3. overload: 4× that rate, paced over enough connections to be an open loop, against each copy.
 * It prints, per run, the rate, what was accepted, refused (503) and timed out, and the latency of the
 * accepted requests; and the p99 of accepted requests under overload against the unloaded p99.
 */

export const description = 'admission control: p99 of accepted requests at 4× the sustainable load, with and without HTTP_MAX_IN_FLIGHT';

const USAGE = `npm run bench -- admission [options]
  --limit N            HTTP_MAX_IN_FLIGHT of the bounded copy (default: the service's default)
  --seconds 10         measured seconds per run
  --overload 4         offered load, as a multiple of the measured sustainable rate
  --capacity-connections 32   connections of the closed loop that measures the sustainable rate
  --db-pool N          DB_POOL_SIZE of both copies (default: the service's default)
  --pin                the service's thread and Postgres on CPU 0, the load generator on CPU 1 (taskset):
                       the load generator no longer takes the measured side's CPU, as if it ran elsewhere;
                       every run, the sustainable rate included, is then measured on one core`;

const QUERY = `query Bench($id: UUID!) { invoice(id: $id) { id status amountCaptured adjustments { id amount } timeline { id type } } }`;

/**
 * An overload run's load-generator threads and connections per thread (see runPacedCannon): a thread's
 * connections fire together, so few per thread keeps each burst well under the in-flight bound.
 */
const STREAMS = 8;
const CONNECTIONS_PER_STREAM = 8;

type Row = { run: string; copy: string; connections: number; offered: string; result: CannonResult; serviceLoop: number };

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      limit: { type: 'string' },
      seconds: { type: 'string', default: '10' },
      overload: { type: 'string', default: '4' },
      'capacity-connections': { type: 'string', default: '32' },
      'db-pool': { type: 'string' },
      pin: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const defaults = loadConfig({});
  const limit = values.limit ? wholeNumber('limit', values.limit, 1, 10_000) : defaults.httpMaxInFlight;
  const seconds = wholeNumber('seconds', values.seconds, 2, 300);
  const overload = wholeNumber('overload', values.overload, 2, 20);
  const capacityConnections = wholeNumber('capacity-connections', values['capacity-connections'], 1, 1000);
  const pool: Record<string, string> = values['db-pool'] ? { DB_POOL_SIZE: String(wholeNumber('db-pool', values['db-pool'], 1, 200)) } : {};
  const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

  log('starting an embedded Postgres and two copies of the service…');
  const pg = await startBenchPostgres();
  const cpu = values.pin ? { service: 0, load: 1 } : undefined;
  if (cpu) {
    pinThisThread(cpu.service);
    pinProcessTree(pg.postmasterPid(), cpu.service);
  }
  const setup = postgres(pg.url, { max: 1, onnotice: () => {} });
  const copies: Awaited<ReturnType<typeof startBenchService>>[] = [];
  try {
    const bounded = await startBenchService(pg.url, { ...pool, HTTP_MAX_IN_FLIGHT: String(limit) });
    copies.push(bounded);
    const unbounded = await startBenchService(pg.url, { ...pool, HTTP_MAX_IN_FLIGHT: '100000' });
    copies.push(unbounded);
    const { token } = await createApiToken(bounded.deps.db, { name: 'bench operator', role: 'OPERATOR' });
    const [invoice] = await setup<{ id: string }[]>`
      WITH workspace AS (INSERT INTO workspaces (name, slug, billing_pilot) VALUES ('Bench', 'bench-admission', true) RETURNING id)
      INSERT INTO invoices (workspace_id, number, currency, amount_due) SELECT id, 'BENCH-1', 'USD', 10000 FROM workspace RETURNING id`;

    const spec = (url: string, connections: number, rate?: number): CannonSpec => ({
      url: `${url}/graphql`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: QUERY, variables: { id: invoice!.id } }),
      connections,
      seconds,
      ...(rate ? { rate } : {}),
      ...(cpu ? { cpu: cpu.load } : {}),
    });
    const rows: Row[] = [];
    const measure = async (runName: string, copy: string, url: string, connections: number, rate?: number) => {
      log(`${runName} on the ${copy} copy: ${connections} connections${rate ? `, ${rate} requests/s` : ', closed loop'}…`);
      // Both copies run on this thread's event loop (autocannon has its own thread): how busy it was.
      const loopBefore = performance.eventLoopUtilization();
      const result = rate ? await runPacedCannon({ ...spec(url, connections), rate }, STREAMS) : await runCannon(spec(url, connections));
      const serviceLoop = performance.eventLoopUtilization(loopBefore).utilization;
      rows.push({ run: runName, copy, connections, offered: rate ? String(rate) : 'closed loop', result, serviceLoop });
      return result;
    };

    await measure('warm-up', 'bounded', bounded.url, 4);
    await measure('warm-up', 'unbounded', unbounded.url, 4);
    const unloaded = await measure('unloaded', 'bounded', bounded.url, 1);
    const capacity = await measure('capacity', 'unbounded', unbounded.url, capacityConnections);
    const sustainable = Math.max(1, Math.round(capacity.accepted.length / capacity.seconds));
    const offered = sustainable * overload;
    const overloadConnections = STREAMS * CONNECTIONS_PER_STREAM;
    // The bounded copy first: the unbounded one keeps working through its backlog after its run ends,
    // which would take CPU from whatever ran next.
    const withBound = await measure(`${overload}× overload`, 'bounded', bounded.url, overloadConnections, offered);
    const withoutBound = await measure(`${overload}× overload`, 'unbounded', unbounded.url, overloadConnections, offered);

    const headers = ['run', 'copy', 'conns', 'offered/s', 'accepted/s', '503/s', 'other', 'timeouts', 'errors', 'loop busy', 'p50 ms', 'p99 ms', 'max ms'];
    const others = (result: CannonResult) =>
      Object.entries(result.statuses)
        .filter(([status]) => !/^2/.test(status) && status !== '503')
        .map(([status, count]) => `${status}×${count}`)
        .join(' ') || '0';
    const table = rows
      .filter((row) => row.run !== 'warm-up')
      .map((row) => {
        const latency = summarize(row.result.accepted);
        const perSecond = (count: number) => fixed(count / row.result.seconds, 0);
        return [row.run, row.copy, String(row.connections), row.offered, perSecond(latency.count), perSecond(row.result.statuses['503'] ?? 0), others(row.result), String(row.result.timeouts), String(row.result.errors), `${fixed(row.serviceLoop * 100, 0)}%`, fixed(latency.p50), fixed(latency.p99), fixed(latency.max)];
      });
    const baseline = summarize(unloaded.accepted).p99;
    const ratio = (result: CannonResult) => fixed(summarize(result.accepted).p99 / baseline, 2);
    console.log(`admission control: HTTP_MAX_IN_FLIGHT=${limit} (bounded copy), sustainable rate ${sustainable}/s, offered ${offered}/s for ${seconds} s`);
    if (cpu) console.log(`pinned: the service's thread and Postgres on CPU ${cpu.service}, the load generator on CPU ${cpu.load}`);
    console.log(`${os.cpus().length} CPUs, load average ${os.loadavg().map((load) => load.toFixed(1)).join(' ')} at the end\n`);
    console.log(formatTable(headers, table, (column) => column > 1));
    console.log(`\nunloaded p99 (accepted):                    ${fixed(baseline)} ms`);
    console.log(`${overload}× overload p99 (accepted), with the bound:    ${fixed(summarize(withBound.accepted).p99)} ms = ${ratio(withBound)}× unloaded`);
    console.log(`${overload}× overload p99 (accepted), without it:        ${fixed(summarize(withoutBound.accepted).p99)} ms = ${ratio(withoutBound)}× unloaded (timeouts: ${withoutBound.timeouts})`);
    // Little's law: the requests in flight that the sustainable rate needs at the unloaded latency. Past
    // that, every admitted request only waits; twice it keeps accepted latency near twice the unloaded one.
    const needed = (sustainable * summarize(unloaded.accepted).mean) / 1000;
    console.log(`in flight needed for the sustainable rate (rate × unloaded mean latency): ${fixed(needed)}; for the 2× target, HTTP_MAX_IN_FLIGHT ≈ ${Math.max(1, Math.ceil(2 * needed))}`);
    return 0;
  } finally {
    for (const copy of copies.reverse()) await copy.stop();
    await setup.end({ timeout: 5 });
    await pg.stop();
  }
}
