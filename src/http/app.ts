import type { ApolloServer } from '@apollo/server';
import express, { type Express } from 'express';
import type { Deps } from '../domain/deps.js';
import type { GraphQLContext } from '../graphql/context.js';
import { billingRoutes } from './billing-routes.js';
import { apolloHandler, graphqlContext, graphqlRequestErrors } from './graphql-transport.js';
import { dashboardRouter } from './dashboard/router.js';
import { mountGraphQLIde } from './graphql-ide.js';
import type { Admission } from './admission.js';
import { mountHealth, type Liveness, type ReadinessCheck } from './health.js';
import { httpLatency, metricsRoutes } from './metrics.js';
import { fastJsonBody, requireJsonBody } from './require-json.js';
import { restErrorHandler } from './rest-errors.js';
import { stripeWebhookRoutes } from './stripe-webhook.js';

export type HttpAppOptions = {
  deps: Deps;
  apollo: ApolloServer<GraphQLContext>;
  readiness: Record<string, ReadinessCheck>;
  liveness: Liveness;
  admission: Admission;
  /** Offered by the dashboard's sign-in page and the IDE: only when the service runs on its embedded database. */
  devOperatorToken?: string | undefined;
};

export function createHttpApp({ deps, apollo, readiness, liveness, admission, devOperatorToken }: HttpAppOptions): Express {
  const app = createOperationsApp({ deps, readiness, liveness });
  // After health and metrics (never refused), before everything that does work.
  app.use(admission.middleware);
  // Before any JSON parser: the signature is over the raw bytes.
  app.use(stripeWebhookRoutes(deps));
  mountGraphQLIde(app, devOperatorToken);
  app.use(
    '/graphql',
    requireJsonBody,
    fastJsonBody(1024 * 1024),
    apolloHandler(apollo, graphqlContext(deps)),
    graphqlRequestErrors(deps.logger),
  );
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
  app.set('trust proxy', false);
  app.use(httpLatency(deps.metrics));
  mountHealth(app, readiness, liveness);
  app.use(metricsRoutes(deps));
  return app;
}
