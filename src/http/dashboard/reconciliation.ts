import type { Request, Response, Router } from 'express';
import type { Deps } from '../../domain/deps.js';
import { listReconciliationRuns, reconcileNow } from '../../domain/reconciliation/list-runs.js';
import { openMismatches, recheckInvoice, type OpenMismatch, type RecheckResult } from '../../domain/reconciliation/open-mismatches.js';
import { isDomainError } from '../../errors.js';
import { age, money, time } from './format.js';
import { html, type Html } from './html.js';
import { csrfField, notice, page, refusal, send, sendErrorPage, type DashboardSession } from './layout.js';
import { sessionOf } from './session.js';

export function mountReconciliation(router: Router, deps: Deps): void {
  router.get('/reconciliation', async (req: Request, res: Response) => {
    await renderReconciliation(deps, res, 200, undefined, typeof req.query.run === 'string' ? req.query.run : undefined);
  });

  router.post('/reconciliation/run', async (_req: Request, res: Response) => {
    const session = sessionOf(res);
    try {
      const run = await reconcileNow(deps, session.viewer);
      // Post/redirect/get: a reload must not start another run.
      res.redirect(303, `/dashboard/reconciliation?run=${run.id}`);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      await renderReconciliation(deps, res, error.httpStatus, refusal(error.code, error.message, error.details));
    }
  });

  router.post('/reconciliation/recheck', async (req: Request, res: Response) => {
    const session = sessionOf(res);
    const invoiceId = String((req.body as Record<string, unknown> | undefined)?.invoiceId ?? '');
    try {
      await renderReconciliation(deps, res, 200, recheckNotice(await recheckInvoice(deps, session.viewer, invoiceId)));
    } catch (error) {
      if (!isDomainError(error)) throw error;
      await renderReconciliation(deps, res, error.httpStatus, refusal(error.code, error.message, error.details));
    }
  });
}

function recheckNotice(result: RecheckResult): Html {
  const checks = result.checks.map(
    (check, index) => html`${index > 0 ? '; ' : ''}${check.field}: ledger ${money(check.ledger, result.currency)}, processor ${money(check.processor, result.currency)}`,
  );
  return notice(html`Invoice <a href="/dashboard/invoices/${result.invoiceId}">${result.number}</a> ${
    result.matches ? 'matches the processor now' : 'still differs from the processor'
  } (${checks}). Nothing was recorded; the next run records it.`);
}

async function renderReconciliation(deps: Deps, res: Response, status: number, message?: Html, justRan?: string): Promise<void> {
  const session = sessionOf(res);
  try {
    const [runs, mismatches] = await Promise.all([listReconciliationRuns(deps.db, session.viewer, 20), openMismatches(deps, session.viewer)]);
    const ran = runs.find((run) => run.id === justRan);
    const body = html`${message ?? null}${
      ran ? notice(`Run ${ran.id.slice(0, 8)} ${ran.status}: ${ran.invoicesChecked} invoices checked, ${ran.mismatchesFound} mismatches.`) : null
    }
<form method="post" action="/dashboard/reconciliation/run">${csrfField(session)}<button type="submit">Run a reconciliation now</button></form>
<h2>Open mismatches</h2>${
      mismatches.length === 0
        ? html`<p>None: the latest run found the ledger and the processor in agreement.</p>`
        : html`<table><thead><tr><th scope="col">Invoice</th><th scope="col">Field</th><th scope="col" class="num">Ledger</th><th scope="col" class="num">Processor</th><th scope="col">Reason</th><th scope="col">Open for</th><th scope="col">Action</th></tr></thead><tbody>${mismatches.map(
            (mismatch) => html`<tr><th scope="row"><a href="/dashboard/invoices/${mismatch.invoice.id}">${mismatch.invoice.number}</a></th><td>${mismatch.field}</td>
<td class="num">${money(mismatch.expected, mismatch.invoice.currency)}</td><td class="num">${mismatch.found === null ? '—' : money(mismatch.found, mismatch.invoice.currency)}</td>
<td>${reason(mismatch)}</td>
<td>${age(mismatch.firstSeenAt)} (since ${time(mismatch.firstSeenAt)})</td><td>${recheckForm(session, mismatch.invoice.id)}</td></tr>`,
          )}</tbody></table>`
    }
<h2>Past runs</h2>${
      runs.length === 0
        ? html`<p>No run yet.</p>`
        : html`<table><thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col" class="num">Attempts settled</th>
<th scope="col" class="num">Timeline backfilled</th><th scope="col" class="num">Settlements backfilled</th><th scope="col" class="num">Invoices checked</th><th scope="col" class="num">Mismatches</th><th scope="col">Error</th></tr></thead><tbody>${runs.map(
            (run) => html`<tr><th scope="row">${time(run.startedAt)}</th><td>${run.trigger}</td><td>${run.status}</td><td class="num">${run.attemptsSettled}</td>
<td class="num">${run.timelineEventsBackfilled}</td><td class="num">${run.settlementsBackfilled}</td><td class="num">${run.invoicesChecked}</td><td class="num">${run.mismatchesFound}</td><td>${run.error ?? '—'}</td></tr>`,
          )}</tbody></table>`
    }`;
    send(res, status, page({ title: 'Reconciliation', session, section: 'reconciliation', body }));
  } catch (error) {
    sendErrorPage(res, error, deps.logger, session);
  }
}

/** Why it is open, in words: which side has more, and by how much. */
function reason(mismatch: OpenMismatch): Html {
  if (mismatch.reason) return html`${mismatch.reason}`;
  const what = mismatch.field === 'amount_captured' ? 'captured' : 'refunded';
  if (mismatch.found === null) return html`the processor has no settlement record of the ${what} money`;
  const difference = mismatch.found - mismatch.expected;
  return html`the processor ${what} ${money(Math.abs(difference), mismatch.invoice.currency)} ${difference > 0 ? 'more' : 'less'} than the ledger`;
}

const recheckForm = (session: DashboardSession, invoiceId: string) =>
  html`<form class="inline" method="post" action="/dashboard/reconciliation/recheck">${csrfField(session)}<input type="hidden" name="invoiceId" value="${invoiceId}"><button type="submit" class="secondary">Re-check now</button></form>`;
