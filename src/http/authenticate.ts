import type { NextFunction, Request, Response } from 'express';
import { authenticateToken, bearerToken } from '../domain/auth/tokens.js';
import type { Viewer } from '../domain/auth/viewer.js';
import type { Deps } from '../domain/deps.js';
import { DomainError } from '../errors.js';

/** Puts the bearer token's viewer in `res.locals.viewer`, or answers 401. */
export function requireBearerToken(deps: Pick<Deps, 'db'>) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    const viewer = token ? await authenticateToken(deps.db, token) : null;
    if (!viewer) return next(new DomainError('UNAUTHENTICATED', 'A valid bearer token is required (Authorization: Bearer <token>)'));
    res.locals.viewer = viewer;
    next();
  };
}

export const viewerOf = (res: Response): Viewer => res.locals.viewer as Viewer;
