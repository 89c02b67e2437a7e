import type { ApolloServer } from '@apollo/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import type { Deps } from '../domain/deps.js';
import type { GraphQLContext } from '../graphql/context.js';
import { billingRoutes } from './billing-routes.js';
import { GRAPHQL_PATH, graphqlHandler } from './graphql-transport.js';
import { dashboardRouter } from './dashboard/router.js';
import { mountGraphQLIde } from './graphql-ide.js';
import type { Admission } from './admission.js';
import { LIVENESS_PATH, mountHealth, READINESS_PATH, type Liveness, type ReadinessCheck } from './health.js';
import { httpLatency, METRICS_PATH, metricsRoutes, observeRoute } from './metrics.js';
import { restErrorHandler } from './rest-errors.js';
import { STRIPE_WEBHOOK_PATH, stripeWebhookHandler, stripeWebhookRoutes } from './stripe-webhook.js';

export type HttpAppOptions = {
  deps: Deps;
  apollo: ApolloServer<GraphQLContext>;
  readiness: Record<string, ReadinessCheck>;
  liveness: Liveness;
  admission: Admission;
  /** Offered by the dashboard's sign-in page and the IDE: only when the service runs on its embedded database. */
  devOperatorToken?: string | undefined;
};

/**
 * The API server's request listener: `POST /webhooks/stripe` and `POST /graphql`, spelled exactly so,
 * go straight to their handlers, with the admission check and the latency metric Express would have
 * given them; every other request goes to the Express app (which serves their other spellings with the
 * same handlers). These two carry the high-rate traffic and have nothing to route: Express's router,
 * request decoration and res.json were about a tenth of the CPU of a webhook event
 * (docs/benchmarks.md, "Webhooks").
 */
export function createHttpListener(options: HttpAppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const handlers = { webhook: stripeWebhookHandler(options.deps), graphql: graphqlHandler(options.deps, options.apollo) };
  const app = createHttpApp(options, handlers);
  const direct = new Map([
    [STRIPE_WEBHOOK_PATH, { handle: handlers.webhook, observe: observeRoute(options.deps.metrics, STRIPE_WEBHOOK_PATH) }],
    [GRAPHQL_PATH, { handle: handlers.graphql, observe: observeRoute(options.deps.metrics, GRAPHQL_PATH) }],
  ]);
  const observeRefusal = observeRoute(options.deps.metrics, REFUSED_ROUTE);
  const { admission } = options;
  return (req, res) => {
    const route = req.method === 'POST' ? direct.get(req.url ?? '') : undefined;
    if (route) {
      route.observe(req, res);
      return admission.middleware(req, res, () => route.handle(req, res));
    }
    // Under overload most requests are refused: refused here, before Express builds its request and
    // walks its router, a refusal costs a fraction of what it did (the health routes are never refused).
    if (admission.saturated() && !isOperationsPath(req.url)) {
      observeRefusal(req, res);
      return admission.refuse(res);
    }
    app(req, res);
  };
}

/** The `route` label of requests refused by admission control before any route was matched. */
const REFUSED_ROUTE = 'refused';

const OPERATIONS_PATHS = new Set([LIVENESS_PATH, READINESS_PATH, METRICS_PATH]);
// As Express matches them: any case, a trailing slash.
const isOperationsPath = (url = '/') => OPERATIONS_PATHS.has(url.split('?', 1)[0]!.toLowerCase().replace(/\/+$/, ''));

export function createHttpApp(
  { deps, apollo, readiness, liveness, admission, devOperatorToken }: HttpAppOptions,
  handlers = { webhook: stripeWebhookHandler(deps), graphql: graphqlHandler(deps, apollo) },
): Express {
  const app = createOperationsApp({ deps, readiness, liveness });
  // After health and metrics (never refused), before everything that does work.
  app.use(admission.middleware);
  // Before any JSON parser: the signature is over the raw bytes.
  app.use(stripeWebhookRoutes(deps, handlers.webhook));
  mountGraphQLIde(app, devOperatorToken);
  app.use(GRAPHQL_PATH, (req: IncomingMessage, res: ServerResponse) => handlers.graphql(req, res));
  app.use('/api/v1/billing', billingRoutes(deps));
  app.use('/dashboard', dashboardRouter(deps, { devOperatorToken }));
  app.use(restErrorHandler(deps.logger));
  return app;
}

/**
 * What every process serves, workers included: /healthz, /readyz and /metrics (so a worker's own
 * counters — replays, scheduled reconciliations — are scraped too).
 */
export function createOperationsApp({ deps, readiness, liveness }: Omit<HttpAppOptions, 'apollo' | 'admission' | 'devOperatorToken'>): Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETags: every answer here is an API answer nobody revalidates, and hashing each body cost a few
  // percent of a small GraphQL query's CPU.
  app.set('etag', false);
  app.set('trust proxy', false);
  app.use(httpLatency(deps.metrics));
  mountHealth(app, readiness, liveness);
  app.use(metricsRoutes(deps));
  return app;
}
