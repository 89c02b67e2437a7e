import { HeaderMap } from '@apollo/server';
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
