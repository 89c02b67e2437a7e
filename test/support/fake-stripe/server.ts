import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import { FakeStripeError, type StripeErrorBody } from './errors.js';
import { FaultPlan, type Fault, type FaultOptions } from './faults.js';
import { IdempotencyStore } from './idempotency.js';
import type { Params } from './params.js';
import { fakeStripeRoutes, type Route } from './routes.js';
import { FakeStripeState, type FakeStripeStateOptions } from './state.js';

export type RecordedRequest = {
  method: string;
  /** Without the query string: `/v1/payment_intents/pi_…/capture`. */
  path: string;
  /** Lower-cased names, as node gives them. */
  headers: IncomingHttpHeaders;
  idempotencyKey: string | undefined;
  /** Parsed query string (GET): `expand[0]=a` → `{ expand: ['a'] }`. */
  query: Params;
  /** Parsed form body (POST): `metadata[invoice_id]=x` → `{ metadata: { invoice_id: 'x' } }`. */
  body: Params;
  /** The status answered, once answered. */
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
  /** Every request received, oldest first, including refused ones. */
  requests: RecordedRequest[];
  /** The next POST (by default) is declined with a 402 card_error; stored under its idempotency key. */
  declineNext(options?: FaultOptions & { code?: string; declineCode?: string; message?: string }): void;
  /** The next request(s) fail with this status before anything happens (default 500). */
  failNext(status?: number, options?: FaultOptions): void;
  /** The next request is processed, then its answer is held back for `ms`. */
  hangNext(ms: number, options?: FaultOptions): void;
  close(): Promise<void>;
};

export type FakeStripeOptions = FakeStripeStateOptions & { secretKey?: string };

/**
 * A Stripe API stand-in on 127.0.0.1 and a free port: the same form-encoded requests, Bearer key check,
 * idempotency keys, JSON objects and error shapes as api.stripe.com, for the endpoints we use.
 */
export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const secretKey = options.secretKey ?? `sk_test_fake_${randomBytes(8).toString('hex')}`;
  const state = new FakeStripeState(options);
  const requests: RecordedRequest[] = [];
  const faults = new FaultPlan();
  const idempotency = new IdempotencyStore();
  const closing = new AbortController();

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended'); // qs, like Stripe: `expand[0]=…`, `metadata[key]=…`
  app.use(express.urlencoded({ extended: true }));
  app.use((req, res, next) => {
    const idempotencyKey = req.get('idempotency-key');
    const recorded: RecordedRequest = {
      method: req.method,
      path: req.path,
      headers: req.headers,
      idempotencyKey,
      query: req.query as Params,
      body: (req.body ?? {}) as Params,
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
    app[method](route.path, (req, res) => serve(route, req, res));
  }
  app.use((req, res) => {
    sendError(res, 404, { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${req.path}).` });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const message = error instanceof Error ? error.message : String(error);
    sendError(res, 500, { type: 'api_error', message: `Fake Stripe failed: ${message}` });
  });

  /** Faults, then idempotency, then the endpoint; the answer is kept before a hang can lose it. */
  async function serve(route: Route, req: Request, res: Response): Promise<void> {
    const recorded = res.locals.recorded as RecordedRequest;
    const params = route.method === 'GET' ? recorded.query : recorded.body;
    const fault = faults.take(req.method, req.path);
    if (fault?.kind === 'fail') return sendError(res, fault.status, failureBody(fault.status));

    const key = route.method === 'POST' ? recorded.idempotencyKey : undefined;
    const stored = key === undefined ? undefined : idempotency.lookup(key, req.method, req.path, params);
    if (stored === 'mismatch') {
      return sendError(res, 400, {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      });
    }
    let answer = stored;
    if (answer) {
      recorded.replayed = true;
      res.set('Idempotent-Replayed', 'true');
    } else {
      const outcome = execute(route, fault, params, req.params as Record<string, string>);
      answer = { status: outcome.status, body: JSON.stringify(outcome.body) };
      if (key !== undefined && outcome.executed) idempotency.save(key, req.method, req.path, params, answer);
    }

    if (fault?.kind === 'hang') {
      try {
        await sleep(fault.ms, undefined, { signal: closing.signal });
      } catch {
        return; // the server is closing
      }
      if (res.destroyed || res.socket?.destroyed) return; // the client gave up: the answer is lost
    }
    res.status(answer.status).set('Request-Id', `req_${randomBytes(7).toString('hex')}`).type('application/json').send(answer.body);
  }

  function execute(route: Route, fault: Fault | undefined, params: Params, pathParams: Record<string, string>) {
    if (fault?.kind === 'decline') {
      const error = { type: 'card_error', code: fault.code, decline_code: fault.declineCode, message: fault.message };
      return { status: 402, body: { error }, executed: true };
    }
    try {
      const { status = 200, body } = route.handle(params, pathParams);
      return { status, body, executed: true };
    } catch (error) {
      if (!(error instanceof FakeStripeError)) throw error;
      return { status: error.status, body: { error: error.body }, executed: error.executed };
    }
  }

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
    requests,
    declineNext: ({ code = 'card_declined', declineCode = 'generic_decline', message = 'Your card was declined.', ...rest } = {}) =>
      faults.add({ kind: 'decline', code, declineCode, message }, { method: 'POST', ...rest }),
    failNext: (status = 500, faultOptions) => faults.add({ kind: 'fail', status }, faultOptions),
    hangNext: (ms, faultOptions) => faults.add({ kind: 'hang', ms }, faultOptions),
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

function failureBody(status: number): StripeErrorBody {
  if (status === 429) {
    return { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' };
  }
  return { type: 'api_error', message: `Something went wrong on Stripe's end (fake ${status}).` };
}

function maskKey(key: string): string {
  return key.length <= 8 ? '****' : `${key.slice(0, 8)}****${key.slice(-4)}`;
}
