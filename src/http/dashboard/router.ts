import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Deps } from '../../domain/deps.js';
import { DomainError } from '../../errors.js';
import { toRestError } from '../rest-errors.js';
import { dashboardAssets } from './assets.js';
import { mountInvoiceDetail } from './invoice-detail.js';
import { mountInvoicesList } from './invoices-list.js';
import { page, refusal, send, sendErrorPage } from './layout.js';
import { mountReconciliation } from './reconciliation.js';
import { mountReplayQueue } from './replay-queue.js';
import { mountRollout } from './rollout.js';
import { requireCsrf, requireSession, sessionOf } from './session.js';
import { mountSignIn, type SignInOptions } from './sign-in.js';

/** Nothing but this origin: no CDN, no fonts, no frames, no form posted elsewhere. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
  });
  next();
}

/**
 * The billing center at /dashboard: server-rendered pages (transport, like GraphQL and REST) over the
 * same domain functions. Sign-in is open; every other page needs a session, every POST its CSRF token.
 */
export function dashboardRouter(deps: Deps, options: SignInOptions): Router {
  const router = Router();
  router.use(securityHeaders, dashboardAssets(), express.urlencoded({ extended: false, limit: '32kb' }));
  mountSignIn(router, deps, options);
  router.use(requireSession(deps), requireCsrf(deps));
  router.get('/', (_req, res) => res.redirect(303, '/dashboard/invoices'));
  mountInvoicesList(router, deps);
  mountInvoiceDetail(router, deps);
  mountReplayQueue(router, deps);
  mountReconciliation(router, deps);
  mountRollout(router, deps);
  router.use((req: Request, res: Response) => sendErrorPage(res, new DomainError('NOT_FOUND', `No dashboard page at ${req.path}`), deps.logger, sessionOf(res)));
  // Whatever a page did not handle (a body too large, a bug): the same codes as REST, shown as a page.
  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = toRestError(error, deps.logger);
    send(res, status, page({ title: 'Refused', session: res.locals.dashboard, body: refusal(body.error.code, body.error.message) }));
  });
  return router;
}
