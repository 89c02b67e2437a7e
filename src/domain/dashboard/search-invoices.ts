import { eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { invoiceAdjustments, invoices, paymentAttempts, processorEvents, refunds, INVOICE_STATUSES, type Invoice, type InvoiceStatus } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import type { Viewer } from '../auth/viewer.js';
import { pageOfInvoices } from '../invoices/find-invoices.js';
import { parseCurrency } from '../ledger/money.js';
import type { Page } from '../pagination.js';

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
export function searchInvoices(db: DbOrTx, viewer: Viewer, search: InvoiceSearch): Promise<Page<Invoice>> {
  const conditions: SQL[] = [];
  if (search.status) conditions.push(eq(invoices.status, parseStatus(search.status)));
  if (search.currency) conditions.push(eq(invoices.currency, parseCurrency(search.currency)));
  if (search.from) conditions.push(gte(invoices.createdAt, parseDay(search.from, 'from')));
  if (search.to) conditions.push(lt(invoices.createdAt, new Date(parseDay(search.to, 'to').getTime() + 86_400_000)));
  const query = search.query?.trim();
  if (query) conditions.push(matchQuery(query));
  return pageOfInvoices(db, viewer, search, conditions);
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

