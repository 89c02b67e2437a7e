import { randomUUID } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { InvoiceAdjustment, PaymentAttempt, ProcessorEvent } from '../../db/schema/index.js';
import { invoiceOverview, type InvoiceOverview, type ProcessorView } from '../../domain/dashboard/invoice-overview.js';
import type { Deps } from '../../domain/deps.js';
import { REFUND_REASONS } from '../../domain/gateway/billing-gateway-client.js';
import { findInvoice } from '../../domain/invoices/find-invoices.js';
import { captureInvoice } from '../../domain/ledger/capture-invoice.js';
import { parseMajorUnits } from '../../domain/ledger/major-units.js';
import { currencyExponent } from '../../domain/ledger/money.js';
import { refundInvoice } from '../../domain/ledger/refund-invoice.js';
import { DomainError, isDomainError } from '../../errors.js';
import { money, time } from './format.js';
import { html, prettyJson, type Html } from './html.js';
import { csrfField, notice, page, refusal, send, sendErrorPage, type DashboardSession } from './layout.js';
import { sessionOf } from './session.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type FormState = { action: 'capture' | 'refund'; error: DomainError; values: Record<string, string> };

const notFound = (id: string) => new DomainError('NOT_FOUND', `Invoice ${id} not found`);

export function mountInvoiceDetail(router: Router, deps: Deps): void {
  router.get('/invoices/:invoiceId', async (req: Request, res: Response) => {
    await renderInvoice(deps, req, res, 200);
  });

  router.post('/invoices/:invoiceId/capture', async (req: Request, res: Response) => {
    const body = formBody(req);
    await act(deps, req, res, 'capture', body, async (session, currency) => {
      const result = await captureInvoice(deps, session.viewer, {
        invoiceId: req.params.invoiceId as string,
        amount: parseMajorUnits(body.amount, currency),
        idempotencyKey: body.idempotencyKey,
      });
      return result.attempt;
    });
  });

  router.post('/invoices/:invoiceId/refund', async (req: Request, res: Response) => {
    const body = formBody(req);
    await act(deps, req, res, 'refund', body, async (session, currency) => {
      const result = await refundInvoice(deps, session.viewer, {
        invoiceId: req.params.invoiceId as string,
        amount: parseMajorUnits(body.amount, currency),
        reason: body.reason ?? '',
        note: body.note,
        idempotencyKey: body.idempotencyKey,
      });
      return result.attempt;
    });
  });
}

function formBody(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries((req.body ?? {}) as Record<string, unknown>)) if (typeof value === 'string') out[key] = value;
  return out;
}

/** Runs one capture or refund; success goes back to the page (post/redirect/get), a refusal is shown on it with its code. */
async function act(
  deps: Deps,
  req: Request,
  res: Response,
  action: FormState['action'],
  values: Record<string, string>,
  run: (session: DashboardSession, currency: string) => Promise<PaymentAttempt>,
): Promise<void> {
  const session = sessionOf(res);
  const id = req.params.invoiceId as string;
  const invoice = UUID.test(id) ? await findInvoice(deps.db, session.viewer, id) : null;
  if (!invoice) return sendErrorPage(res, notFound(id), deps.logger, session);
  try {
    const attempt = await run(session, invoice.currency);
    res.redirect(303, `/dashboard/invoices/${invoice.id}?done=${action}&attempt=${attempt.id}`);
  } catch (error) {
    if (!isDomainError(error)) throw error;
    await renderInvoice(deps, req, res, error.httpStatus, { action, error, values });
  }
}

async function renderInvoice(deps: Deps, req: Request, res: Response, status: number, form?: FormState): Promise<void> {
  const session = sessionOf(res);
  const id = req.params.invoiceId as string;
  const overview = UUID.test(id) ? await invoiceOverview(deps, session.viewer, id) : null;
  if (!overview) return sendErrorPage(res, notFound(id), deps.logger, session);
  const done = req.query.done === 'capture' || req.query.done === 'refund' ? (req.query.done as string) : undefined;
  const attempt = done ? overview.attempts.find((candidate) => candidate.id === req.query.attempt) : undefined;
  const body = html`${attempt ? notice(html`The ${done} of ${money(attempt.amount, attempt.currency)} is <strong>${attempt.status}</strong>.`) : null}
${balanceStrip(overview)}
<div class="grid2">${captureForm(session, overview, form)}${refundForm(session, overview, form)}</div>
${timeline(overview)}${ledger(overview)}${moneyTrail(overview)}${refunds(overview)}${attempts(overview)}${settlement(overview)}${processorEvents(overview.processorEvents)}`;
  send(res, status, page({ title: `Invoice ${overview.invoice.number}`, session, section: 'invoices', body }));
}

function processorNet(view: ProcessorView, currency: string): Html {
  switch (view.kind) {
    case 'known':
      return money(view.net, currency);
    case 'unknown':
      return html`<span class="none">no record at the processor</span>`;
    case 'no-payment-intent':
      return html`<span class="none">no payment intent</span>`;
    case 'unavailable':
      return html`<span class="none">processor unavailable (${view.message})</span>`;
  }
}

function balanceStrip(overview: InvoiceOverview): Html {
  const { invoice, processor } = overview;
  const c = invoice.currency;
  const agrees = processor.kind !== 'known' || processor.net === overview.ledgerNet;
  const ledgerAgrees = overview.ledgerNet === overview.net;
  const item = (label: string, value: Html, className = '') => html`<div class="${className}"><dt>${label}</dt><dd>${value}</dd></div>`;
  return html`<section aria-labelledby="balance-heading"><h2 id="balance-heading">Balance</h2>
<p>Workspace ${overview.workspace?.name ?? invoice.workspaceId} · status <strong>${invoice.status}</strong> · payment intent <code>${invoice.paymentIntentId ?? '—'}</code></p>
<dl class="strip">
${item('Due', money(invoice.amountDue, c))}${item('− Captured', money(invoice.amountCaptured, c))}${item('− Pending', money(overview.pendingCapture, c))}${item('= Remaining', money(overview.remaining, c))}
${item('Captured − refunded = net', money(overview.net, c))}
${item('Ledger net', money(overview.ledgerNet, c), ledgerAgrees && agrees ? 'agree' : 'disagree')}
${item('Processor net', processorNet(processor, c), agrees ? 'agree' : 'disagree')}
</dl>
${!agrees || !ledgerAgrees ? html`<p class="disagree" role="alert"><strong>The ledger and the processor disagree.</strong> Reconciliation reports it; see the runbook.</p>` : null}
</section>`;
}

function amountHelp(currency: string): string {
  const exponent = currencyExponent(currency);
  return `In ${currency}, ${exponent === 0 ? 'whole units (no decimals)' : `up to ${exponent} decimals`}. Empty: all that remains.`;
}

function formError(form: FormState | undefined, action: FormState['action']): Html | null {
  return form?.action === action ? refusal(form.error.code, form.error.message, form.error.details) : null;
}

function captureForm(session: DashboardSession, overview: InvoiceOverview, form: FormState | undefined): Html {
  const { invoice } = overview;
  const values = form?.action === 'capture' ? form.values : {};
  return html`<section aria-labelledby="capture-heading"><h2 id="capture-heading">Capture</h2>
${formError(form, 'capture')}
<form method="post" action="/dashboard/invoices/${invoice.id}/capture">${csrfField(session)}
<input type="hidden" name="idempotencyKey" value="${randomUUID()}">
<label for="capture-amount">Amount (${invoice.currency})</label>
<input id="capture-amount" name="amount" inputmode="decimal" value="${values.amount ?? ''}" aria-describedby="capture-help">
<p id="capture-help">${amountHelp(invoice.currency)} Remaining now: ${money(overview.remaining, invoice.currency)}.</p>
<button type="submit">Capture</button>
</form></section>`;
}

function refundForm(session: DashboardSession, overview: InvoiceOverview, form: FormState | undefined): Html {
  const { invoice } = overview;
  const values = form?.action === 'refund' ? form.values : {};
  const refundable = invoice.amountCaptured - invoice.amountRefunded - overview.pendingRefund;
  return html`<section aria-labelledby="refund-heading"><h2 id="refund-heading">Refund</h2>
${formError(form, 'refund')}
<form method="post" action="/dashboard/invoices/${invoice.id}/refund">${csrfField(session)}
<input type="hidden" name="idempotencyKey" value="${randomUUID()}">
<label for="refund-amount">Amount (${invoice.currency})</label>
<input id="refund-amount" name="amount" inputmode="decimal" value="${values.amount ?? ''}" aria-describedby="refund-help">
<p id="refund-help">${amountHelp(invoice.currency).replace('remains', 'is refundable')} Refundable now: ${money(Math.max(refundable, 0), invoice.currency)}.</p>
<label for="refund-reason">Reason</label>
<select id="refund-reason" name="reason" required>${REFUND_REASONS.map(
    (reason) => html`<option value="${reason}"${values.reason === reason ? html` selected` : null}>${reason}</option>`,
  )}</select>
<label for="refund-note">Note (optional)</label>
<textarea id="refund-note" name="note" rows="2" cols="40" maxlength="500">${values.note ?? ''}</textarea>
<p><button type="submit">Refund</button></p>
</form></section>`;
}

function table(caption: string, id: string, headers: string[], rows: Html[], empty: string): Html {
  return html`<section aria-labelledby="${id}"><h2 id="${id}">${caption}</h2>${
    rows.length === 0
      ? html`<p class="none">${empty}</p>`
      : html`<table><thead><tr>${headers.map((header) => html`<th scope="col">${header}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`
  }</section>`;
}

const short = (id: string) => id.slice(0, 8);

function timeline(overview: InvoiceOverview): Html {
  return table(
    'Payment timeline',
    'timeline-heading',
    ['When', 'What', 'Source', 'Details'],
    overview.timeline.map(
      (entry) => html`<tr><td>${time(entry.occurredAt)}</td><th scope="row">${entry.type}</th><td>${entry.source}</td><td><code>${JSON.stringify(entry.data)}</code></td></tr>`,
    ),
    'Nothing has happened to this invoice yet.',
  );
}

function ledger(overview: InvoiceOverview): Html {
  return table(
    'Ledger lines',
    'ledger-heading',
    ['Line', 'Kind', 'Amount', 'Reason', 'Note', 'Source', 'Written'],
    overview.adjustments.map(
      (line) => html`<tr id="line-${line.id}"><th scope="row"><code>${short(line.id)}</code></th><td>${line.kind}</td><td class="num">${money(line.amount, line.currency)}</td>
<td>${line.reasonCode ?? '—'}</td><td>${line.note ?? '—'}</td><td>${line.source}</td><td>${time(line.createdAt)}</td></tr>`,
    ),
    'No money has moved on this invoice.',
  );
}

/** From each ledger line to what caused it (our attempt or the processor's event) to the processor's object. */
function moneyTrail(overview: InvoiceOverview): Html {
  const attemptsById = new Map(overview.attempts.map((attempt) => [attempt.id, attempt]));
  const eventsById = new Map(overview.processorEvents.map((event) => [event.id, event]));
  const cause = (line: InvoiceAdjustment) => {
    const attempt = line.paymentAttemptId ? attemptsById.get(line.paymentAttemptId) : undefined;
    const event = line.processorEventId ? eventsById.get(line.processorEventId) : undefined;
    return html`${attempt ? html`<a href="#attempt-${attempt.id}">attempt ${short(attempt.id)}</a> (key <code>${attempt.idempotencyKey}</code>)` : null}${
      attempt && event ? html`; ` : null
    }${event ? html`<a href="#event-${event.id}">event <code>${event.externalId}</code></a> (${event.eventType})` : null}${
      !attempt && !event ? html`<span class="none">${line.source}</span>` : null
    }`;
  };
  return table(
    'Money trail',
    'trail-heading',
    ['Ledger line', 'Amount', 'Caused by', 'Processor object'],
    overview.adjustments.map(
      (line) => html`<tr><th scope="row"><a href="#line-${line.id}">${line.kind} ${short(line.id)}</a></th><td class="num">${money(line.amount, line.currency)}</td>
<td>${cause(line)}</td><td><code>${line.processorObjectId ?? attemptsById.get(line.paymentAttemptId ?? '')?.processorObjectId ?? '—'}</code></td></tr>`,
    ),
    'No ledger lines, so no trail yet.',
  );
}

function refunds(overview: InvoiceOverview): Html {
  return table(
    'Refunds',
    'refunds-heading',
    ['Refund', 'Amount', 'Reason', 'Note', 'Processor refund', 'Source', 'Created', 'Failed'],
    overview.refunds.map(
      (refund) => html`<tr><th scope="row"><code>${short(refund.id)}</code></th><td class="num">${money(refund.amount, refund.currency)}</td><td>${refund.reason}</td>
<td>${refund.note ?? '—'}</td><td><code>${refund.processorRefundId ?? '—'}</code></td><td>${refund.source}</td><td>${time(refund.createdAt)}</td><td>${time(refund.failedAt)}</td></tr>`,
    ),
    'No refunds.',
  );
}

function attempts(overview: InvoiceOverview): Html {
  return table(
    'Payment attempts',
    'attempts-heading',
    ['Attempt', 'Kind', 'Status', 'Amount', 'Idempotency key', 'Processor object', 'Error', 'Requested', 'Completed'],
    overview.attempts.map(
      (attempt) => html`<tr id="attempt-${attempt.id}"><th scope="row"><code>${short(attempt.id)}</code></th><td>${attempt.kind}</td><td>${attempt.status}</td>
<td class="num">${money(attempt.amount, attempt.currency)}</td><td><code>${attempt.idempotencyKey}</code></td><td><code>${attempt.processorObjectId ?? '—'}</code></td>
<td>${attempt.errorCode ? html`<span class="code">${attempt.errorCode}</span> ${attempt.errorMessage ?? ''}` : '—'}</td><td>${time(attempt.createdAt)}</td><td>${time(attempt.completedAt)}</td></tr>`,
    ),
    'No capture or refund has been asked for.',
  );
}

function settlement(overview: InvoiceOverview): Html {
  const { invoice } = overview;
  return html`<section aria-labelledby="settlement-heading"><h2 id="settlement-heading">Settlement</h2>
<dl class="strip"><div><dt>Last captured</dt><dd>${time(invoice.capturedAt)}</dd></div><div><dt>Settled</dt><dd>${time(invoice.settledAt)}</dd></div>
<div><dt>Last matched the processor's statement</dt><dd>${time(invoice.reconciledAt)}</dd></div></dl></section>`;
}

function processorEvents(events: ProcessorEvent[]): Html {
  return html`<section aria-labelledby="events-heading"><h2 id="events-heading">Processor events</h2>${
    events.length === 0
      ? html`<p class="none">No processor event has touched this invoice.</p>`
      : events.map(
          (event) => html`<article id="event-${event.id}"><h3><code>${event.externalId}</code> ${event.eventType}</h3>
<p>Received ${time(event.receivedAt)} · outcome <strong>${event.outcome}</strong> · replays ${event.replayAttempts}${
            event.lastReplayError ? html` · last error: ${event.lastReplayError}` : null
          }</p>
<details><summary>Raw payload</summary><pre>${prettyJson(event.payload)}</pre></details></article>`,
        )
  }</section>`;
}
