import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { bearerToken } from '../domain/auth/tokens.js';
import type { Deps } from '../domain/deps.js';
import type { Metrics } from '../domain/metrics/metrics.js';
import type { RestErrorBody } from './rest-errors.js';

export const METRICS_PATH = '/metrics';

/**
 * GET /metrics in the Prometheus text format. Open by default, as scrapers expect on a private port;
 * with METRICS_TOKEN set it wants `Authorization: Bearer <METRICS_TOKEN>` (Prometheus: `authorization`
 * in the scrape config). API tokens are not accepted here: a scraper should hold no billing rights.
 */
export function metricsRoutes(deps: Pick<Deps, 'metrics' | 'config'>): Router {
  const router = Router();
  const expected = deps.config.metricsToken;
  router.get(METRICS_PATH, async (req: Request, res: Response) => {
    if (expected !== undefined && !sameSecret(bearerToken(req.headers.authorization), expected)) {
      const body: RestErrorBody = { error: { code: 'UNAUTHENTICATED', message: 'Authorization: Bearer <METRICS_TOKEN> is required' } };
      res.status(401).set('WWW-Authenticate', 'Bearer realm="metrics"').json(body);
      return;
    }
    const text = await deps.metrics.render();
    res.set('Content-Type', deps.metrics.contentType).set('Cache-Control', 'no-store').send(text);
  });
  return router;
}

/** Compares digests, so the time taken says nothing about how much of the token matched. */
function sameSecret(given: string | null | undefined, expected: string): boolean {
  if (!given) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Times every request into `http_request_duration_seconds{method,route,status}`. Mount it first.
 * The route label is the pattern that matched (`/api/v1/billing/invoices/:invoiceId/capture`), never
 * the path a client sent, which would make one time series per invoice id.
 */
export function httpLatency(metrics: Metrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const route = trackRoute(req);
    // Requests the client abandoned before the response was written are not observed.
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeHttpRequest({ method: req.method, route: route(res.statusCode), status: res.statusCode, seconds });
    });
    next();
  };
}

/**
 * httpLatency for a request the server answers without Express (`createHttpListener`), its route
 * known before it starts: the same series, the same label as Express's route would give it.
 */
export function observeRoute(metrics: Metrics, route: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeHttpRequest({ method: req.method ?? 'POST', route, status: res.statusCode, seconds });
    });
  };
}

/**
 * Express sets `req.route` when a route matches, with `req.baseUrl` then holding its router's mount
 * path; but an error passed on with next(err) leaves the router and restores `baseUrl` before the
 * error handler answers. So both are watched as Express assigns them, and the label is taken at match
 * time. Without a route: the deepest mount reached (`/graphql`, where Apollo answers), else
 * `unmatched` for a 404 and `other` for the rest (static files).
 */
function trackRoute(req: Request): (status: number) => string {
  let baseUrl = req.baseUrl;
  let route: unknown = req.route;
  let deepestMount = '';
  let pattern: string | undefined;
  Object.defineProperties(req, {
    baseUrl: {
      configurable: true,
      enumerable: true,
      get: () => baseUrl,
      // Express also restores the value it found before routing, which may be undefined: never throw here.
      set(value: string) {
        baseUrl = value;
        if (typeof value === 'string' && value.length > deepestMount.length) deepestMount = value;
      },
    },
    route: {
      configurable: true,
      enumerable: true,
      get: () => route,
      set(value: { path?: unknown } | undefined) {
        route = value;
        if (typeof value?.path === 'string') pattern = joinPattern(baseUrl ?? '', value.path);
      },
    },
  });
  return (status) => pattern ?? (deepestMount ? mountLabel(deepestMount) : status === 404 ? 'unmatched' : 'other');
}

// Express matches mount paths without regard to case, and baseUrl is the client's spelling of it:
// lower-cased, every spelling is one label (this app's mount paths are lower case).
const mountLabel = (baseUrl: string) => baseUrl.toLowerCase();

function joinPattern(baseUrl: string, path: string): string {
  const joined = mountLabel(baseUrl) + path;
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined || '/';
}
