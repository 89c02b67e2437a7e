import { HeaderMap, type ApolloServer, type HTTPGraphQLRequest } from '@apollo/server';
import type { NextFunction, Request, Response } from 'express';
import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable } from '../db/errors.js';
import { bearerToken } from '../domain/auth/tokens.js';
import { viewerCacheFor } from '../domain/auth/viewer-cache.js';
import type { Deps } from '../domain/deps.js';
import { SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../errors.js';
import { createContext, type GraphQLContext } from '../graphql/context.js';
import type { Logger } from '../logger.js';
import { toRestError } from './rest-errors.js';

/**
 * The GraphQL context of a request: its viewer, from the bearer token. When the database cannot be
 * asked, the whole request is a 503 (Apollo would make it a 500): the status rides on the error's
 * `extensions.http`, and formatError gives it the code SERVICE_UNAVAILABLE.
 */
export function graphqlContext(deps: Deps) {
  const viewers = viewerCacheFor(deps.db, deps.config.authCacheTtlMs);
  return async ({ req }: { req: Request }): Promise<GraphQLContext> => {
    const token = bearerToken(req.headers.authorization);
    try {
      const viewer = token ? await viewers.authenticate(deps.db, token) : null;
      return createContext(deps, viewer);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      throw new GraphQLError('The database is unavailable; retry later', {
        originalError: error as Error,
        extensions: { http: { status: 503, headers: new HeaderMap([['retry-after', String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS)]]) } },
      });
    }
  };
}

/**
 * Apollo on Express, as `@as-integrations/express5`'s `expressMiddleware` does it but without what a
 * GraphQL answer does not need, which was a tenth of the CPU of a small query: its `url.parse` of
 * every URL, and Express's `res.send`, which hashes every body into an ETag (a POST answer is never
 * revalidated) and rewrites headers Apollo already set. The answer is written with its length in one
 * `writeHead` + `end`. Incremental delivery (a streamed body) is written chunk by chunk, as there.
 */
export function apolloHandler(server: ApolloServer<GraphQLContext>, context: (args: { req: Request }) => Promise<GraphQLContext>) {
  server.assertStarted('apolloHandler()');
  return async (req: Request, res: Response): Promise<void> => {
    if (!('body' in req)) {
      res.status(500).send('`req.body` is not set: the JSON body parser must run before Apollo');
      return;
    }
    const headers = new HeaderMap();
    const raw = req.headers;
    for (const key in raw) {
      const value = raw[key];
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = req.url;
    const query = url.indexOf('?');
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: req.method.toUpperCase(),
      headers,
      search: query === -1 ? '' : url.slice(query),
      body: req.body,
    };
    const response = await server.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: () => context({ req }) });
    const status = response.status ?? 200;
    if (response.body.kind === 'complete') {
      const body = response.body.string;
      const out: Record<string, string> = {};
      for (const [key, value] of response.headers) out[key] = value;
      out['content-length'] = String(Buffer.byteLength(body));
      res.writeHead(status, out).end(body);
      return;
    }
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = status;
    for await (const chunk of response.body.asyncIterator) {
      res.write(chunk);
      const flushable = res as Response & { flush?: () => void };
      if (typeof flushable.flush === 'function') flushable.flush();
    }
    res.end();
  };
}

/**
 * Requests refused before Apollo reads them (a wrong Content-Type, an unreadable or oversized body),
 * answered as GraphQL clients expect them: `{ errors: [{ message, extensions: { code } }] }`.
 */
export function graphqlRequestErrors(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const { status, body, retryAfterSeconds } = toRestError(error, logger);
    if (retryAfterSeconds !== undefined) res.set('Retry-After', String(retryAfterSeconds));
    res.status(status).json({ errors: [{ message: body.error.message, extensions: { code: body.error.code } }] });
  };
}
