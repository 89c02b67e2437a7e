import type { Response } from 'express';
import type { Viewer } from '../../domain/auth/viewer.js';
import { HTTP_STATUS, isDomainError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { html, type Html } from './html.js';

/** Who is looking, and the token every form of their session must carry. */
export type DashboardSession = { viewer: Viewer; csrfToken: string };

export type Section = 'invoices' | 'replays' | 'reconciliation' | 'rollout';

const SECTIONS: { id: Section; label: string; href: string; operatorsOnly: boolean }[] = [
  { id: 'invoices', label: 'Invoices', href: '/dashboard/invoices', operatorsOnly: false },
  { id: 'replays', label: 'Replay queue', href: '/dashboard/replays', operatorsOnly: true },
  { id: 'reconciliation', label: 'Reconciliation', href: '/dashboard/reconciliation', operatorsOnly: true },
  { id: 'rollout', label: 'Rollout stage', href: '/dashboard/rollout', operatorsOnly: true },
];

export type PageOptions = { title: string; session?: DashboardSession | undefined; section?: Section | undefined; body: Html };

export function page({ title, session, section, body }: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · billing center</title>
<link rel="icon" href="/dashboard/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
<script src="/dashboard/assets/local-time.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<a href="/dashboard/invoices"><strong>billing center</strong></a>
${session ? navigation(session, section) : null}
</header>
<main id="main">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`;
}

function navigation(session: DashboardSession, section: Section | undefined): Html {
  const visible = SECTIONS.filter((item) => !item.operatorsOnly || session.viewer.role === 'OPERATOR');
  const who = session.viewer.role === 'OPERATOR' ? 'operator' : `service token, workspace ${session.viewer.workspaceId}`;
  return html`<nav aria-label="Sections"><ul>${visible.map(
    (item) => html`<li><a href="${item.href}"${item.id === section ? html` aria-current="page"` : null}>${item.label}</a></li>`,
  )}</ul></nav>
<div class="who"><span>Signed in: ${who}</span>
<form class="inline" method="post" action="/dashboard/sign-out">${csrfField(session)}<button type="submit">Sign out</button></form></div>`;
}

export const csrfField = (session: DashboardSession): Html => html`<input type="hidden" name="_csrf" value="${session.csrfToken}">`;

/** A refusal as the operator sees it: its error code, its message, and its details. */
export function refusal(code: ErrorCode, message: string, details?: Record<string, unknown>): Html {
  return html`<div class="alert" role="alert"><p><span class="code">${code}</span>: ${message}</p>${
    details && Object.keys(details).length > 0
      ? html`<ul>${Object.entries(details).map(([key, value]) => html`<li>${key}: <code>${JSON.stringify(value)}</code></li>`)}</ul>`
      : null
  }</div>`;
}

export const notice = (text: string | Html): Html => html`<div class="notice" role="status">${text}</div>`;

export function send(res: Response, status: number, content: Html): void {
  res.status(status).type('html').send(content.toString());
}

/** A whole page for an error with no better place: the code, its status, nothing internal. */
export function sendErrorPage(res: Response, error: unknown, logger: Logger, session?: DashboardSession): void {
  if (isDomainError(error)) {
    send(res, HTTP_STATUS[error.code], page({ title: titleFor(error.code), session, body: refusal(error.code, error.message, error.details) }));
    return;
  }
  logger.error({ err: error }, 'unexpected error in the dashboard');
  send(res, 500, page({ title: 'Something went wrong', session, body: refusal('INTERNAL_SERVER_ERROR', 'Internal server error') }));
}

const titleFor = (code: ErrorCode) =>
  code === 'NOT_FOUND' ? 'Not found' : code === 'FORBIDDEN' ? 'Not allowed' : code === 'UNAUTHENTICATED' ? 'Sign in again' : 'Refused';
