import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { csrfTokenMatches, findSession } from '../../domain/auth/sessions.js';
import type { Deps } from '../../domain/deps.js';
import { DomainError } from '../../errors.js';
import { sendErrorPage, type DashboardSession } from './layout.js';

export const SESSION_COOKIE = 'bl_session';
/** Before sign-in there is no session: the sign-in form's CSRF token is a double-submit cookie. */
export const SIGN_IN_COOKIE = 'bl_sign_in';

const COOKIE_BASE = 'Path=/dashboard; HttpOnly; SameSite=Strict';

export function cookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out[part.slice(0, at).trim()] = decodeURIComponent(part.slice(at + 1).trim());
  }
  return out;
}

/** `Secure` when the request came over HTTPS, so a development instance on http://127.0.0.1 works. */
export function setCookie(req: Request, res: Response, name: string, value: string, maxAgeSeconds: number): void {
  const secure = req.secure ? '; Secure' : '';
  res.append('Set-Cookie', `${name}=${encodeURIComponent(value)}; ${COOKIE_BASE}; Max-Age=${maxAgeSeconds}${secure}`);
}

export const clearCookie = (req: Request, res: Response, name: string) => setCookie(req, res, name, '', 0);

export const newSecret = () => randomBytes(32).toString('base64url');

export const sessionOf = (res: Response): DashboardSession => res.locals.dashboard as DashboardSession;

/** Pages need a session: without one a GET goes to the sign-in page, anything else is refused. */
export function requireSession(deps: Deps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const id = cookies(req)[SESSION_COOKIE];
    const session = id ? await findSession(deps.db, id) : null;
    if (!session) {
      if (req.method === 'GET') return res.redirect(303, `/dashboard/sign-in?next=${encodeURIComponent(req.originalUrl)}`);
      return sendErrorPage(res, new DomainError('UNAUTHENTICATED', 'Your session has ended; sign in again'), deps.logger);
    }
    res.locals.dashboard = { viewer: session.viewer, csrfToken: session.csrfToken } satisfies DashboardSession;
    next();
  };
}

/** Every POST of a session carries its CSRF token; without it nothing runs and nothing is written. */
export function requireCsrf(deps: Deps) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST') return next();
    const session = sessionOf(res);
    const given = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (!csrfTokenMatches(session.csrfToken, given)) {
      return sendErrorPage(res, new DomainError('FORBIDDEN', 'The form is missing its CSRF token or it is wrong; reload the page and try again'), deps.logger, session);
    }
    next();
  };
}
