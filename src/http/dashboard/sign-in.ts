import type { Request, Response, Router } from 'express';
import { csrfTokenMatches, endSession, SESSION_LIFETIME_MS, startSession } from '../../domain/auth/sessions.js';
import type { Deps } from '../../domain/deps.js';
import { DomainError, isDomainError } from '../../errors.js';
import { html, type Html } from './html.js';
import { page, refusal, send, sendErrorPage } from './layout.js';
import { clearCookie, cookies, newSecret, requireSession, requireCsrf, SESSION_COOKIE, setCookie, SIGN_IN_COOKIE } from './session.js';

export type SignInOptions = {
  /** Offered on the sign-in page; given only when the service runs on its embedded database. */
  devOperatorToken?: string | undefined;
};

/** Only a path inside the dashboard: never another site (an open redirect). */
function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/dashboard/') && !next.startsWith('//') && !next.includes('\\') ? next : '/dashboard/invoices';
}

function signInPage(csrf: string, next: string, options: SignInOptions, error?: Html): Html {
  return page({
    title: 'Sign in',
    body: html`${error ?? null}
<form method="post" action="/dashboard/sign-in">
<input type="hidden" name="_csrf" value="${csrf}">
<input type="hidden" name="next" value="${next}">
<label for="token">API token</label>
<p id="token-help">An operator token sees every workspace; a service token only its own. It is kept on the server, never in the browser.</p>
<input id="token" name="token" type="password" autocomplete="off" required size="60" aria-describedby="token-help">
<p><button type="submit">Sign in</button></p>
</form>
${
  options.devOperatorToken
    ? html`<section aria-labelledby="dev-heading"><h2 id="dev-heading">Development</h2>
<p>This service runs on its embedded database, so it made a development operator token.</p>
<form method="post" action="/dashboard/sign-in">
<input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="next" value="${next}">
<input type="hidden" name="useDevToken" value="1">
<button type="submit">Sign in with the development operator token</button>
</form></section>`
    : null
}`,
  });
}

export function mountSignIn(router: Router, deps: Deps, options: SignInOptions): void {
  router.get('/sign-in', (req: Request, res: Response) => {
    const csrf = newSecret();
    setCookie(req, res, SIGN_IN_COOKIE, csrf, 3600);
    send(res, 200, signInPage(csrf, safeNext(req.query.next), options));
  });

  router.post('/sign-in', async (req: Request, res: Response) => {
    const body = req.body as Record<string, unknown>;
    const next = safeNext(body.next);
    const expected = cookies(req)[SIGN_IN_COOKIE];
    const fresh = newSecret();
    setCookie(req, res, SIGN_IN_COOKIE, fresh, 3600);
    const again = (status: number, error: DomainError) =>
      send(res, status, signInPage(fresh, next, options, refusal(error.code, error.message)));
    if (!expected || !csrfTokenMatches(expected, body._csrf)) {
      return again(403, new DomainError('FORBIDDEN', 'The sign-in form is missing its CSRF token or it is wrong; try again'));
    }
    const token = body.useDevToken === '1' && options.devOperatorToken ? options.devOperatorToken : typeof body.token === 'string' ? body.token : '';
    try {
      const session = await startSession(deps.db, token);
      clearCookie(req, res, SIGN_IN_COOKIE);
      setCookie(req, res, SESSION_COOKIE, session.sessionId, Math.floor(SESSION_LIFETIME_MS / 1000));
      res.redirect(303, next);
    } catch (error) {
      if (isDomainError(error)) return again(401, error);
      sendErrorPage(res, error, deps.logger);
    }
  });

  router.post('/sign-out', requireSession(deps), requireCsrf(deps), async (req: Request, res: Response) => {
    await endSession(deps.db, cookies(req)[SESSION_COOKIE]!);
    clearCookie(req, res, SESSION_COOKIE);
    res.redirect(303, '/dashboard/sign-in');
  });
}
