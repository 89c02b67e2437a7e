import type { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import { authenticateToken, bearerToken } from '../domain/auth/tokens.js';
import type { Deps } from '../domain/deps.js';
import { createContext, type GraphQLContext } from '../graphql/context.js';
import { billingRoutes } from './billing-routes.js';
import { dashboardRouter } from './dashboard/router.js';
import { mountGraphQLIde } from './graphql-ide.js';
import { mountHealth, type ReadinessCheck } from './health.js';
import { httpLatency, metricsRoutes } from './metrics.js';
import { restErrorHandler } from './rest-errors.js';
import { stripeWebhookRoutes } from './stripe-webhook.js';

export type HttpAppOptions = {
  deps: Deps;
  apollo: ApolloServer<GraphQLContext>;
  readiness: Record<string, ReadinessCheck>;
  /** Offered by the dashboard's sign-in page and the IDE: only when the service runs on its embedded database. */
  devOperatorToken?: string | undefined;
};

export function createHttpApp({ deps, apollo, readiness, devOperatorToken }: HttpAppOptions): Express {
  const app = createOperationsApp({ deps, readiness });
  // Before any JSON parser: the signature is over the raw bytes.
  app.use(stripeWebhookRoutes(deps));
  mountGraphQLIde(app, devOperatorToken);
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const token = bearerToken(req.headers.authorization);
        const viewer = token ? await authenticateToken(deps.db, token) : null;
        return createContext(deps, viewer);
      },
    }),
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
export function createOperationsApp({ deps, readiness }: Omit<HttpAppOptions, 'apollo'>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(httpLatency(deps.metrics));
  mountHealth(app, readiness);
  app.use(metricsRoutes(deps));
  return app;
}
