import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { StripeErrorBody } from './errors.js';
import type { FakeEvent } from './objects.js';
import { FaultPlan, Gate, type FaultOptions } from './faults.js';
import { IdempotencyStore } from './idempotency.js';
import type { Params } from './params.js';
import { newRequestId, requestPipeline } from './pipeline.js';
import { fakeStripeRoutes } from './routes.js';
import { FakeStripeState, type FakeStripeStateOptions } from './state.js';
import type { FakeClock } from './clock.js';

export type RecordedRequest = {
  method: string;
  /** Without the query string: `/v1/payment_intents/pi_…/capture`. */
  path: string;
  /** The route it matched, `POST /v1/payment_intents/:id/capture`; `unrouted` for unknown URLs. */
  endpoint: string;
  /** Lower-cased names, as node gives them. */
  headers: IncomingHttpHeaders;
  idempotencyKey: string | undefined;
  /** Parsed query string (GET): `expand[0]=a` → `{ expand: ['a'] }`. */
  query: Params;
  /** Parsed form body (POST): `metadata[invoice_id]=x` → `{ metadata: { invoice_id: 'x' } }`. */
  body: Params;
  requestId: string;
  /** The status answered, once answered (none when the connection was dropped). */
  status?: number;
  /** True when the answer came from the idempotency store. */
  replayed: boolean;
};

export type FakeStripe = {
  url: string;
  host: string;
  port: number;
  protocol: 'http';
  secretKey: string;
  /** Everything `new StripeGateway(...)` (or `new Stripe(...)`) needs to talk to this server. */
  connection: { secretKey: string; host: string; port: number; protocol: 'http' };
  state: FakeStripeState;
  /** The fake's time: `clock.advance(ms)` ages idempotency keys and dates what happens next. */
  clock: FakeClock;
  /** Every request received, oldest first, including refused ones. */
  requests: RecordedRequest[];
  /** How many requests each endpoint received (`'GET /v1/refunds'` → 3), from `requests`. */
  callCounts(): Record<string, number>;
  /** The events of every change so far, oldest first; `newEvents()` only those since its last call. */
  events(): FakeEvent[];
  newEvents(): FakeEvent[];
  /** The next POST (by default) is declined with a 402 card_error; stored under its idempotency key. */
  declineNext(options?: FaultOptions & { code?: string; declineCode?: string; message?: string }): void;
  /**
   * The next request(s) fail with this status (default 500): before anything happens, or with
   * `after: true` once the endpoint has done its work, a 500 that is kept and replayed for the key.
   */
  failNext(status?: number, options?: FaultOptions & { after?: boolean }): void;
  /** The next request's connection is destroyed without an answer, before the endpoint runs or after. */
  dropNext(options?: FaultOptions & { after?: boolean }): void;
  /** The next request is processed, then its answer is held back for `ms`. */
  hangNext(ms: number, options?: FaultOptions): void;
  /** The next request stays in flight, its idempotency key taken, until `release()`. */
  holdNext(options?: FaultOptions): Gate;
  /** Forgets every fault not yet taken (one meant for a request that never came). */
  clearFaults(): void;
  close(): Promise<void>;
};

export type FakeStripeOptions = FakeStripeStateOptions & {
  secretKey?: string;
  /** How long idempotency keys are kept on the fake's clock (Stripe: at least 24 hours). */
  idempotencyKeyTtlSeconds?: number;
};

/**
 * A Stripe API stand-in on 127.0.0.1 and a free port: the same form-encoded requests, Bearer key check,
 * idempotency keys, JSON objects and error shapes as api.stripe.com, for the endpoints we use.
 */
export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const secretKey = options.secretKey ?? `sk_test_fake_${randomBytes(8).toString('hex')}`;
  const state = new FakeStripeState(options);
  const requests: RecordedRequest[] = [];
  const faults = new FaultPlan();
  const closing = new AbortController();
  const serve = requestPipeline({
    faults,
    idempotency: new IdempotencyStore(state.clock, options.idempotencyKeyTtlSeconds),
    events: state.events,
    closing: closing.signal,
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended'); // qs, like Stripe: `expand[0]=…`, `metadata[key]=…`
  app.use(express.urlencoded({ extended: true }));
  app.use((req, res, next) => {
    const recorded: RecordedRequest = {
      method: req.method,
      path: req.path,
      endpoint: 'unrouted',
      headers: req.headers,
      idempotencyKey: req.get('idempotency-key'),
      query: req.query as Params,
      body: (req.body ?? {}) as Params,
      requestId: newRequestId(),
      replayed: false,
    };
    requests.push(recorded);
    res.locals.recorded = recorded;
    res.on('finish', () => (recorded.status = res.statusCode));
    next();
  });
  app.use((req, res, next) => {
    const authorization = req.get('authorization');
    if (authorization === `Bearer ${secretKey}`) return next();
    const message = authorization
      ? `Invalid API Key provided: ${maskKey(authorization.replace(/^Bearer /, ''))}`
      : 'You did not provide an API key.';
    sendError(res, 401, { type: 'invalid_request_error', message });
  });

  for (const route of fakeStripeRoutes(state)) {
    const method = route.method === 'GET' ? 'get' : 'post';
    app[method](route.path, (req, res) => {
      (res.locals.recorded as RecordedRequest).endpoint = `${route.method} ${route.path}`;
      return serve(route, req, res);
    });
  }
  app.use((req, res) => {
    sendError(res, 404, { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${req.path}).` });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const message = error instanceof Error ? error.message : String(error);
    sendError(res, 500, { type: 'api_error', message: `Fake Stripe failed: ${message}` });
  });

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = '127.0.0.1';

  return {
    url: `http://${host}:${port}`,
    host,
    port,
    protocol: 'http',
    secretKey,
    connection: { secretKey, host, port, protocol: 'http' },
    state,
    clock: state.clock,
    requests,
    callCounts: () => {
      const counts: Record<string, number> = {};
      for (const request of requests) counts[request.endpoint] = (counts[request.endpoint] ?? 0) + 1;
      return counts;
    },
    events: () => state.events.all(),
    newEvents: () => state.events.take(),
    declineNext: ({ code = 'card_declined', declineCode = 'generic_decline', message = 'Your card was declined.', ...rest } = {}) =>
      faults.add({ kind: 'decline', code, declineCode, message }, { method: 'POST', ...rest }),
    clearFaults: () => faults.clear(),
    failNext: (status = 500, { after = false, ...rest } = {}) => faults.add({ kind: 'fail', status, when: after ? 'after' : 'before' }, rest),
    dropNext: ({ after = false, ...rest } = {}) => faults.add({ kind: 'drop', when: after ? 'after' : 'before' }, rest),
    hangNext: (ms, faultOptions) => faults.add({ kind: 'hang', ms }, faultOptions),
    holdNext: (faultOptions) => {
      const gate = new Gate();
      faults.add({ kind: 'hold', gate }, faultOptions);
      return gate;
    },
    close: async () => {
      closing.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function sendError(res: Response, status: number, error: StripeErrorBody): void {
  res.status(status).json({ error });
}

function maskKey(key: string): string {
  return key.length <= 8 ? '****' : `${key.slice(0, 8)}****${key.slice(-4)}`;
}
