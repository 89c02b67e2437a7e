import { and, desc, eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { invoiceAdjustments, invoices, paymentAttempts, processorEvents, refunds, INVOICE_STATUSES, type Invoice, type InvoiceStatus } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { workspaceScope, type Viewer } from '../auth/viewer.js';
import { INVOICE_CURSOR } from '../invoices/find-invoices.js';
import { parseCurrency } from '../ledger/money.js';
import { decodeCursor, pageSize, toPage, type Page } from '../pagination.js';

export type InvoiceSearch = {
  workspaceId?: string | undefined;
  status?: string | undefined;
  currency?: string | undefined;
  /** Created on or after this day (UTC, `YYYY-MM-DD`). */
  from?: string | undefined;
  /** Created on or before this day (UTC, `YYYY-MM-DD`). */
  to?: string | undefined;
  /** An invoice number (or its beginning), a payment intent `pi_…`, a Stripe event `evt_…`, refund `re_…` or charge `ch_…`. */
  query?: string | undefined;
  first?: number | undefined;
  after?: string | undefined;
};

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The dashboard's invoice list: the same keyset pages as `listInvoices` (newest first), with the
 * filters an operator types. A service token's search never leaves its workspace.
 */
export async function searchInvoices(db: DbOrTx, viewer: Viewer, search: InvoiceSearch): Promise<Page<Invoice>> {
  const limit = pageSize(search.first);
  const afterId = decodeCursor(INVOICE_CURSOR, search.after);
  const scope = workspaceScope(viewer);
  if (scope && search.workspaceId && search.workspaceId !== scope) return { nodes: [], hasNextPage: false };

  const conditions: SQL[] = [];
  const workspaceId = scope ?? search.workspaceId;
  if (workspaceId) conditions.push(eq(invoices.workspaceId, workspaceId));
  if (search.status) conditions.push(eq(invoices.status, parseStatus(search.status)));
  if (search.currency) conditions.push(eq(invoices.currency, parseCurrency(search.currency)));
  if (search.from) conditions.push(gte(invoices.createdAt, parseDay(search.from, 'from')));
  if (search.to) conditions.push(lt(invoices.createdAt, new Date(parseDay(search.to, 'to').getTime() + 86_400_000)));
  const query = search.query?.trim();
  if (query) conditions.push(matchQuery(query));
  if (afterId) conditions.push(sql`(${invoices.createdAt}, ${invoices.id}) < (SELECT created_at, id FROM invoices WHERE id = ${afterId})`);

  const rows = await db
    .select()
    .from(invoices)
    .where(and(...conditions))
    .orderBy(desc(invoices.createdAt), desc(invoices.id))
    .limit(limit + 1);
  return toPage(rows, limit);
}

/** Processor ids are recognised by their prefix; anything else is an invoice number or its beginning. */
function matchQuery(query: string): SQL {
  if (query.startsWith('evt_')) {
    return sql`${invoices.id} IN (SELECT ${processorEvents.invoiceId} FROM ${processorEvents} WHERE ${processorEvents.externalId} = ${query})`;
  }
  if (query.startsWith('re_')) return sql`${invoices.id} IN (SELECT ${refunds.invoiceId} FROM ${refunds} WHERE ${refunds.processorRefundId} = ${query})`;
  if (query.startsWith('ch_')) {
    return or(
      eq(invoices.externalProcessorId, query),
      sql`${invoices.id} IN (SELECT ${paymentAttempts.invoiceId} FROM ${paymentAttempts} WHERE ${paymentAttempts.processorObjectId} = ${query})`,
      sql`${invoices.id} IN (SELECT ${invoiceAdjustments.invoiceId} FROM ${invoiceAdjustments} WHERE ${invoiceAdjustments.processorObjectId} = ${query})`,
    )!;
  }
  if (query.startsWith('pi_')) return eq(invoices.paymentIntentId, query);
  const escaped = query.replace(/[\\%_]/g, (character) => `\\${character}`);
  return sql`${invoices.number} ILIKE ${escaped + '%'}`;
}

function parseStatus(status: string): InvoiceStatus {
  if (!(INVOICE_STATUSES as readonly string[]).includes(status)) {
    throw new DomainError('BAD_USER_INPUT', `status must be one of ${INVOICE_STATUSES.join(', ')}`, { field: 'status' });
  }
  return status as InvoiceStatus;
}

function parseDay(day: string, field: string): Date {
  const date = new Date(`${day}T00:00:00Z`);
  if (!DAY.test(day) || Number.isNaN(date.getTime())) throw new DomainError('BAD_USER_INPUT', `${field} must be a date (YYYY-MM-DD)`, { field });
  return date;
}

