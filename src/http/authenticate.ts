import type { NextFunction, Request, Response } from 'express';
import { bearerToken } from '../domain/auth/tokens.js';
import { viewerCacheFor } from '../domain/auth/viewer-cache.js';
import type { Viewer } from '../domain/auth/viewer.js';
import type { Deps } from '../domain/deps.js';
import { DomainError } from '../errors.js';

/**
 * Puts the bearer token's viewer in `res.locals.viewer`, or answers 401. Through the same viewer cache
 * as GraphQL (AUTH_CACHE_TTL_MS), so a revocation reaches REST and GraphQL alike.
 */
export function requireBearerToken(deps: Pick<Deps, 'db' | 'config'>) {
  const viewers = viewerCacheFor(deps.db, deps.config.authCacheTtlMs);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    const viewer = token ? await viewers.authenticate(deps.db, token) : null;
    if (!viewer) return next(new DomainError('UNAUTHENTICATED', 'A valid bearer token is required (Authorization: Bearer <token>)'));
    res.locals.viewer = viewer;
    next();
  };
}

export const viewerOf = (res: Response): Viewer => res.locals.viewer as Viewer;
