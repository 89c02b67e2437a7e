import type { Request, Response, Router } from 'express';
import { INVOICE_STATUSES, type Invoice } from '../../db/schema/index.js';
import { searchInvoices, type InvoiceSearch } from '../../domain/dashboard/search-invoices.js';
import { reservedAmounts, type Reserved } from '../../domain/ledger/balance.js';
import type { Deps } from '../../domain/deps.js';
import { INVOICE_CURSOR } from '../../domain/invoices/find-invoices.js';
import { CURRENCY_EXPONENTS } from '../../domain/ledger/money.js';
import { encodeCursor } from '../../domain/pagination.js';
import { listWorkspaces } from '../../domain/workspaces/find-workspace.js';
import { isDomainError } from '../../errors.js';
import { money, time } from './format.js';
import { html, type Html } from './html.js';
import { page, refusal, send } from './layout.js';
import { sessionOf } from './session.js';

const FILTERS = ['workspaceId', 'status', 'currency', 'from', 'to', 'q'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

/** The filters are the URL's query, so a filtered list can be bookmarked and shared. */
function filtersOf(req: Request): Filters {
  const filters: Filters = {};
  for (const name of FILTERS) {
    const value = req.query[name];
    if (typeof value === 'string' && value.trim() !== '') filters[name] = value.trim();
  }
  return filters;
}

const queryString = (values: Record<string, string | undefined>) =>
  new URLSearchParams(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined)).toString();

export function mountInvoicesList(router: Router, deps: Deps): void {
  router.get('/invoices', async (req: Request, res: Response) => {
    const session = sessionOf(res);
    const filters = filtersOf(req);
    const after = typeof req.query.after === 'string' ? req.query.after : undefined;
    const search: InvoiceSearch = { ...filters, query: filters.q, after, first: 25 };
    const workspaces = await listWorkspaces(deps.db, session.viewer);
    let results: Html;
    let status = 200;
    try {
      const found = await searchInvoices(deps.db, session.viewer, search);
      const pending = await reservedAmounts(deps.db, found.nodes.map((invoice) => invoice.id));
      results = invoiceTable(found.nodes, pending, new Map(workspaces.map((workspace) => [workspace.id, workspace.name])));
      const last = found.nodes.at(-1);
      if (found.hasNextPage && last) {
        const nextUrl = `/dashboard/invoices?${queryString({ ...filters, after: encodeCursor(INVOICE_CURSOR, last.id) })}`;
        results = html`${results}<nav aria-label="Pages"><a href="${nextUrl}" rel="next">Next page</a></nav>`;
      }
      if (after) results = html`${results}<p><a href="/dashboard/invoices?${queryString(filters)}">Back to the first page</a></p>`;
    } catch (error) {
      if (!isDomainError(error)) throw error;
      status = error.httpStatus;
      results = refusal(error.code, error.message, error.details);
    }
    send(res, status, page({ title: 'Invoices', session, section: 'invoices', body: html`${filterForm(filters, workspaces)}${results}` }));
  });
}

function filterForm(filters: Filters, workspaces: { id: string; name: string }[]): Html {
  const option = (value: string, label: string, selected: string | undefined) =>
    html`<option value="${value}"${value === (selected ?? '') ? html` selected` : null}>${label}</option>`;
  return html`<form method="get" action="/dashboard/invoices" role="search" aria-label="Filter invoices">
<fieldset><legend>Filter</legend><div class="row">
<div><label for="f-q">Search</label><input id="f-q" name="q" value="${filters.q ?? ''}" size="28" aria-describedby="f-q-help"></div>
<div><label for="f-workspace">Workspace</label><select id="f-workspace" name="workspaceId">${option('', 'All', filters.workspaceId)}${workspaces.map((workspace) =>
    option(workspace.id, workspace.name, filters.workspaceId),
  )}</select></div>
<div><label for="f-status">Status</label><select id="f-status" name="status">${option('', 'Any', filters.status)}${INVOICE_STATUSES.map((status) =>
    option(status, status, filters.status),
  )}</select></div>
<div><label for="f-currency">Currency</label><select id="f-currency" name="currency">${option('', 'Any', filters.currency)}${[...CURRENCY_EXPONENTS.keys()]
    .sort()
    .map((code) => option(code, code, filters.currency))}</select></div>
<div><label for="f-from">Created from</label><input id="f-from" name="from" type="date" value="${filters.from ?? ''}"></div>
<div><label for="f-to">Created to</label><input id="f-to" name="to" type="date" value="${filters.to ?? ''}"></div>
<div><button type="submit">Apply</button> <a href="/dashboard/invoices">Clear</a></div>
</div><p id="f-q-help">An invoice number (or its beginning), a payment intent <code>pi_…</code>, or a Stripe event <code>evt_…</code>, refund <code>re_…</code> or charge <code>ch_…</code>. Dates are UTC days.</p></fieldset>
</form>`;
}

function invoiceTable(rows: Invoice[], pending: Map<string, Reserved>, workspaceNames: Map<string, string>): Html {
  if (rows.length === 0) return html`<p>No invoice matches these filters.</p>`;
  const held = (invoice: Invoice) => pending.get(invoice.id) ?? { capture: 0, refund: 0 };
  return html`<table>
<caption>Invoices, newest first</caption>
<thead><tr><th scope="col">Number</th><th scope="col">Workspace</th><th scope="col">Status</th>
<th scope="col" class="num">Due</th><th scope="col" class="num">Captured</th><th scope="col" class="num">Refunded</th>
<th scope="col" class="num">Remaining</th><th scope="col" class="num">Pending</th><th scope="col">Payment intent</th><th scope="col">Created</th></tr></thead>
<tbody>${rows.map(
    (invoice) => html`<tr>
<th scope="row"><a href="/dashboard/invoices/${invoice.id}">${invoice.number}</a></th>
<td>${workspaceNames.get(invoice.workspaceId) ?? invoice.workspaceId}</td>
<td>${invoice.status}</td>
<td class="num">${money(invoice.amountDue, invoice.currency)}</td>
<td class="num">${money(invoice.amountCaptured, invoice.currency)}</td>
<td class="num">${money(invoice.amountRefunded, invoice.currency)}</td>
<td class="num">${money(invoice.amountDue - invoice.amountCaptured - held(invoice).capture, invoice.currency)}</td>
<td class="num">${money(held(invoice).capture, invoice.currency)}${
      held(invoice).refund > 0 ? html`<br>refund ${money(held(invoice).refund, invoice.currency)}` : null
    }</td>
<td><code>${invoice.paymentIntentId ?? '—'}</code></td>
<td>${time(invoice.createdAt)}</td></tr>`,
  )}</tbody></table>`;
}
