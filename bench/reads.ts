// graphql-js (the service's 16 and PostGraphile's 15) runs in production mode on both sides: bench/run.ts
// sets NODE_ENV before anything loads graphql-js.
import { createServer, type Server } from 'node:http';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createApiToken } from '../src/domain/auth/tokens.js';
import { makeWorkspace } from '../test/support/factories.js';
import { makePaidInvoice } from '../test/support/history.js';
import { runCannon, type CannonResult } from './support/cannon.js';
import { wholeNumber } from './support/options.js';
import { readStatementStats, resetStatementStats } from './support/pg-stats.js';
import { startBenchPostgres } from './support/postgres.js';
import { startBenchService } from './support/service.js';
import { summarize } from './support/stats.js';
import { fixed, formatTable } from './support/table.js';

/**
 * The GraphQL read path against PostGraphile 4 on the same database, A/B interleaved in one run:
 * (a) a page of 50 invoices with their ledger lines, timeline and refunds; (b) one invoice by id with
 * the same lists. Both servers run in this process (one at a time is loaded), on one embedded Postgres,
 * with pools of the same size; autocannon loads them from a worker thread. The two queries ask for the
 * same fields in the same nesting and order (PostGraphile names them its own way); the bench checks
 * that the two answers agree before it measures. Per repetition the order of the two servers alternates;
 * the figure is the ratio service ÷ PostGraphile of requests per second, min / median / max over the
 * repetitions, and the SQL statements per request (pg_stat_statements, pg-boss's own left out).
 */

export const description = 'GraphQL reads (a page of 50 invoices with nested lists; one invoice by id) vs PostGraphile 4 on the same data';

const USAGE = `npm run bench -- reads [options]
  --repetitions 5   A/B pairs per scenario
  --seconds 5       measured seconds per run
  --connections 8   autocannon connections (closed loop)
  --invoices 500    invoices in the database (each with 2 ledger lines, 3 timeline events, 1 refund)
  --page 50         invoices per page in the list scenario
  --only service    run one side only (for a CPU profile: node --cpu-prof dist/bench/run.js reads --only service)
  --scenario by-id  run one scenario only: list or by-id`;


const SERVICE_NODE = `id number currency amountDue amountCaptured amountRefunded status createdAt
  adjustments { id kind amount currency createdAt }
  timeline { id type source occurredAt }
  refunds { id amount reason createdAt }`;
const SERVICE_LIST = `query List($first: Int!) { invoices(first: $first) { edges { node { ${SERVICE_NODE} } } pageInfo { hasNextPage endCursor } } }`;
const SERVICE_BY_ID = `query ById($id: UUID!) { invoice(id: $id) { ${SERVICE_NODE} } }`;

// PostGraphile's names for the same tables and relations, ordered as the service orders them.
const PG_NODE = `id number currency amountDue amountCaptured amountRefunded status createdAt
  adjustments: invoiceAdjustmentsByInvoiceId(orderBy: [CREATED_AT_ASC, ID_ASC]) { nodes { id kind amount currency createdAt } }
  timeline: invoiceTimelineEventsByInvoiceId(orderBy: [OCCURRED_AT_ASC, ID_ASC]) { nodes { id type source occurredAt } }
  refunds: refundsByInvoiceId(orderBy: [CREATED_AT_ASC, ID_ASC]) { nodes { id amount reason createdAt } }`;
const PG_LIST = `query List($first: Int!) { invoices: allInvoices(first: $first, orderBy: [CREATED_AT_DESC, ID_DESC]) { edges { node { ${PG_NODE} } } pageInfo { hasNextPage endCursor } } }`;
const PG_BY_ID = `query ById($id: UUID!) { invoice: invoiceById(id: $id) { ${PG_NODE} } }`;

type Side = 'service' | 'postgraphile';
type Scenario = { name: string; body: Record<Side, string> };
type Run = { scenario: string; side: Side; repetition: number; result: CannonResult; rate: number; statements: number; sqlMs: number };

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      repetitions: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '8' },
      invoices: { type: 'string', default: '500' },
      page: { type: 'string', default: '50' },
      only: { type: 'string' },
      scenario: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const repetitions = wholeNumber('repetitions', values.repetitions, 1, 100);
  const seconds = wholeNumber('seconds', values.seconds, 1, 300);
  const connections = wholeNumber('connections', values.connections, 1, 1000);
  const invoiceCount = wholeNumber('invoices', values.invoices, 1, 100_000);
  const page = wholeNumber('page', values.page, 1, 100);
  if (values.only !== undefined && values.only !== 'service' && values.only !== 'postgraphile') {
    console.error('--only is service or postgraphile');
    return 2;
  }
  if (values.scenario !== undefined && values.scenario !== 'list' && values.scenario !== 'by-id') {
    console.error('--scenario is list or by-id');
    return 2;
  }
  const sides: Side[] = values.only ? [values.only as Side] : ['service', 'postgraphile'];
  const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
  const startedAt = Date.now();
  const loadBefore = os.loadavg();

  log('starting an embedded Postgres (pg_stat_statements), the service and PostGraphile…');
  const pg = await startBenchPostgres({ pgStatStatements: true });
  const stats = postgres(pg.url, { max: 1, onnotice: () => {} });
  let service: Awaited<ReturnType<typeof startBenchService>> | undefined;
  let graphile: Server | undefined;
  let graphileRelease: (() => Promise<void>) | undefined;
  try {
    // The HTTP API alone, as the write benches run it: background workers (the seeded captures'
    // notifications among them) would land on whichever side is being measured, in this one process.
    service = await startBenchService(pg.url, {}, 'api');
    const poolSize = service.deps.config.dbPoolSize;
    const { db } = service.deps;
    log(`seeding ${invoiceCount} invoices…`);
    const workspace = await makeWorkspace(db);
    const ids: string[] = [];
    for (let next = 0; next < invoiceCount; ) {
      const batch = Array.from({ length: Math.min(16, invoiceCount - next) }, (_, index) => next + index);
      next += batch.length;
      const made = await Promise.all(batch.map((index) => makePaidInvoice(db, workspace.id, { due: 10_000 + index, captured: 6_000 + index, refunded: 1_000 + index })));
      ids.push(...made.map((invoice) => invoice.id));
    }
    await stats`VACUUM ANALYZE`;
    const { token } = await createApiToken(db, { name: 'bench reads', role: 'OPERATOR' });

    const postgraphile = loadPostGraphile();
    // PostGraphile as its docs recommend for production: no mutations, no GraphiQL, no query log, no
    // watch mode; its own pg pool of the service's size. It does no authentication (the service does).
    const middleware = postgraphile({ connectionString: pg.url, max: poolSize }, 'public', {
      disableDefaultMutations: true,
      graphiql: false,
      disableQueryLog: true,
      watchPg: false,
      retryOnInitFail: false,
      dynamicJson: true,
      setofFunctionsContainNulls: false,
      legacyRelations: 'omit',
      extendedErrors: [],
      showErrorStack: false,
    });
    graphileRelease = () => middleware.release();
    graphile = createServer(middleware);
    await new Promise<void>((resolve) => graphile!.listen(0, '127.0.0.1', resolve));
    const graphileUrl = `http://127.0.0.1:${(graphile.address() as AddressInfo).port}/graphql`;
    const urls: Record<Side, string> = { service: `${service.url}/graphql`, postgraphile: graphileUrl };
    const headers: Record<Side, Record<string, string>> = {
      service: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      postgraphile: { 'content-type': 'application/json' },
    };
    const byIdTarget = ids[Math.floor(ids.length / 2)]!;
    const allScenarios: (Scenario & { key: string })[] = [
      {
        key: 'list',
        name: `list of ${page}`,
        body: {
          service: JSON.stringify({ query: SERVICE_LIST, variables: { first: page } }),
          postgraphile: JSON.stringify({ query: PG_LIST, variables: { first: page } }),
        },
      },
      {
        key: 'by-id',
        name: 'by id',
        body: {
          service: JSON.stringify({ query: SERVICE_BY_ID, variables: { id: byIdTarget } }),
          postgraphile: JSON.stringify({ query: PG_BY_ID, variables: { id: byIdTarget } }),
        },
      },
    ];
    const scenarios: Scenario[] = allScenarios.filter(({ key }) => values.scenario === undefined || key === values.scenario);

    log('checking that both servers give the same answers…');
    for (const scenario of scenarios) {
      const answers = await Promise.all(
        (['service', 'postgraphile'] as const).map(async (side) => {
          const response = await fetch(urls[side], { method: 'POST', headers: headers[side], body: scenario.body[side] });
          const body = (await response.json()) as { data?: unknown; errors?: unknown };
          if (!response.ok || body.errors) throw new Error(`${side}, ${scenario.name}: ${response.status} ${JSON.stringify(body).slice(0, 500)}`);
          return normalise(body.data);
        }),
      );
      if (JSON.stringify(answers[0]) !== JSON.stringify(answers[1])) {
        throw new Error(`${scenario.name}: the answers differ\nservice:      ${JSON.stringify(answers[0]).slice(0, 400)}\npostgraphile: ${JSON.stringify(answers[1]).slice(0, 400)}`);
      }
    }

    const measure = async (scenario: Scenario, side: Side, repetition: number, runSeconds: number): Promise<Run> => {
      await resetStatementStats(stats);
      const result = await runCannon({ url: urls[side], headers: headers[side], body: scenario.body[side], connections, seconds: runSeconds });
      const statementStats = await readStatementStats(stats, 0);
      const own = statementStats.all.filter((row) => !/pgboss|pg_stat_statements_reset/i.test(row.query));
      const calls = own.reduce((sum, row) => sum + row.calls, 0);
      const execMs = own.reduce((sum, row) => sum + row.execMs, 0);
      const answered = Object.values(result.statuses).reduce((sum, count) => sum + count, 0);
      return {
        scenario: scenario.name,
        side,
        repetition,
        result,
        rate: result.accepted.length / result.seconds,
        statements: answered > 0 ? calls / answered : NaN,
        sqlMs: answered > 0 ? execMs / answered : NaN,
      };
    };

    log('warming up…');
    for (const scenario of scenarios) for (const side of sides) await measure(scenario, side, 0, Math.min(2, seconds));
    const runs: Run[] = [];
    for (let repetition = 1; repetition <= repetitions; repetition++) {
      for (const scenario of scenarios) {
        // Alternate who goes first, so that neither always runs on a machine the other just warmed.
        const order: Side[] = repetition % 2 === 1 ? sides : [...sides].reverse();
        for (const side of order) {
          log(`repetition ${repetition}/${repetitions}, ${scenario.name}, ${side}…`);
          runs.push(await measure(scenario, side, repetition, seconds));
        }
      }
    }

    console.log(`reads benchmark — ${new Date(startedAt).toISOString()}`);
    console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? '?'}), node ${process.version}, PostgreSQL ${pg.version} (embedded)`);
    console.log(`load average before ${loadBefore.map((load) => load.toFixed(2)).join(' ')}, after ${os.loadavg().map((load) => load.toFixed(2)).join(' ')} (1/5/15 min)`);
    console.log(`${invoiceCount} invoices (2 ledger lines, 3 timeline events, 1 refund each); ${repetitions} A/B repetitions of ${seconds} s, ${connections} connections, closed loop; pools of ${poolSize} connections`);
    console.log(`PostGraphile ${postgraphileVersion()} (no authentication); the service with an operator bearer token (AUTH_CACHE_TTL_MS=${service.deps.config.authCacheTtlMs})\n`);
    const rows = runs.map((run) => {
      const latency = summarize(run.result.accepted);
      const failed = Object.entries(run.result.statuses).filter(([status]) => !/^2/.test(status)).reduce((sum, [, count]) => sum + count, 0) + run.result.errors + run.result.timeouts;
      return [run.scenario, String(run.repetition), run.side, fixed(run.rate, 0), fixed(latency.p50), fixed(latency.p99), String(failed), fixed(run.statements, 2), fixed(run.sqlMs, 2)];
    });
    console.log(formatTable(['scenario', 'rep', 'server', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'stmts/req', 'SQL ms/req'], rows, (column) => column > 2));
    console.log('SQL ms/req: server-side execution time per request (pg_stat_statements), lock waits included');
    console.log('');
    if (sides.length < 2) return 0;
    const summary = scenarios.map((scenario) => {
      const ratios: number[] = [];
      for (let repetition = 1; repetition <= repetitions; repetition++) {
        const pair = runs.filter((run) => run.scenario === scenario.name && run.repetition === repetition);
        const a = pair.find((run) => run.side === 'service')!;
        const b = pair.find((run) => run.side === 'postgraphile')!;
        ratios.push(a.rate / b.rate);
      }
      ratios.sort((x, y) => x - y);
      const median = (values: number[]) => {
        const sorted = [...values].sort((x, y) => x - y);
        const middle = Math.floor(sorted.length / 2);
        return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
      };
      const of = (side: Side) => runs.filter((run) => run.scenario === scenario.name && run.side === side);
      return [
        scenario.name,
        fixed(median(of('service').map((run) => run.rate)), 0),
        fixed(median(of('postgraphile').map((run) => run.rate)), 0),
        `${fixed(ratios[0]!, 2)}×`,
        `${fixed(median(ratios), 2)}×`,
        `${fixed(ratios.at(-1)!, 2)}×`,
        fixed(median(of('service').map((run) => run.statements)), 2),
        fixed(median(of('postgraphile').map((run) => run.statements)), 2),
      ];
    });
    console.log(formatTable(['scenario', 'service req/s', 'postgraphile req/s', 'ratio min', 'median', 'max', 'service stmts/req', 'postgraphile stmts/req'], summary));
    console.log('ratio = service ÷ PostGraphile requests per second, per A/B pair; medians over the repetitions; stmts/req from pg_stat_statements');
    console.log('(pg-boss polling left out; BEGIN/COMMIT not counted). failed = non-2xx answers, errors and timeouts.');
    console.log(`(whole benchmark: ${Math.round((Date.now() - startedAt) / 1000)} s)`);
    return runs.some((run) => run.result.accepted.length === 0) ? 1 : 0;
  } finally {
    if (graphile) await new Promise<void>((resolve) => graphile!.close(() => resolve()));
    await graphileRelease?.().catch(() => undefined);
    await service?.stop();
    await stats.end({ timeout: 5 });
    await pg.stop();
  }
}

/** Both answers as comparable values: amounts as numbers (PostGraphile gives bigints as strings), times as instants, lists as arrays. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (Object.keys(object).length === 1 && Array.isArray(object.nodes)) return normalise(object.nodes);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(object).sort()) {
      if (key === 'pageInfo') continue; // the cursors are each server's own
      const field = object[key];
      if (typeof field === 'string' && /^-?\d+$/.test(field) && /amount/i.test(key)) out[key] = Number(field);
      else if (typeof field === 'string' && /At$/.test(key)) out[key] = new Date(field).toISOString();
      else out[key] = normalise(field);
    }
    return out;
  }
  return value;
}

const require = createRequire(import.meta.url);

function postgraphileVersion(): string {
  return (require('postgraphile/package.json') as { version: string }).version;
}

/**
 * PostGraphile 4 wants graphql 15; the service has 16 at the top of node_modules, so npm gives
 * postgraphile and graphile-build-pg a nested graphql 15 each — two copies, and a schema built from one
 * fails the other's type checks ("Unexpected input type"); some of its dependencies accept 16 and get the
 * top one. Every `graphql` that a package of PostGraphile's asks for is resolved to postgraphile's own
 * copy, so the whole of PostGraphile shares one graphql 15. In the bench only.
 */
function loadPostGraphile(): typeof import('postgraphile').postgraphile {
  const postgraphileDir = path.dirname(require.resolve('postgraphile/package.json'));
  const sharers = /[\\/]node_modules[\\/](postgraphile|postgraphile-core|graphile-build|graphile-build-pg|graphile-utils|graphql-parse-resolve-info|graphql-ws|subscriptions-transport-ws)[\\/]/;
  const internals = Module as unknown as { _resolveFilename(request: string, parent: { filename?: string } | undefined, ...rest: unknown[]): string };
  const resolve = internals._resolveFilename;
  internals._resolveFilename = function (request, parent, isMain, options) {
    if ((request === 'graphql' || request.startsWith('graphql/')) && sharers.test(parent?.filename ?? '')) {
      return resolve.call(this, request, parent, isMain, { ...(options as object), paths: [postgraphileDir] });
    }
    return resolve.call(this, request, parent, isMain, options);
  };
  return (require('postgraphile') as typeof import('postgraphile')).postgraphile;
}
