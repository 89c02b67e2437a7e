import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { invoices, type Invoice, type InvoiceStatus } from '../../db/schema/index.js';
import { canSeeWorkspace, workspaceScope, type Viewer } from '../auth/viewer.js';
import { decodeCursor, pageSize, toPage, type Page } from '../pagination.js';

export const INVOICE_CURSOR = 'invoice';

/** The invoice, or null when it does not exist or lies outside the viewer's workspace. */
export async function findInvoice(db: DbOrTx, viewer: Viewer, id: string): Promise<Invoice | null> {
  const [invoice] = await db.select().from(invoices).where(eq(invoices.id, id));
  if (!invoice || !canSeeWorkspace(viewer, invoice.workspaceId)) return null;
  return invoice;
}

export type InvoiceFilter = {
  workspaceId?: string | null | undefined;
  statuses?: InvoiceStatus[] | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
};

/** Newest first, by keyset on (created_at, id) so pages stay stable while invoices are added. */
export function listInvoices(db: DbOrTx, viewer: Viewer, filter: InvoiceFilter): Promise<Page<Invoice>> {
  const conditions = filter.statuses && filter.statuses.length > 0 ? [inArray(invoices.status, filter.statuses)] : [];
  return pageOfInvoices(db, viewer, filter, conditions);
}

export type InvoicePageRequest = Pick<InvoiceFilter, 'workspaceId' | 'first' | 'after'>;

/**
 * One keyset page of the invoices the viewer may see that meet `conditions`, newest first: a service
 * token never leaves its workspace (asking for another one is an empty page, not an error).
 */
export async function pageOfInvoices(db: DbOrTx, viewer: Viewer, request: InvoicePageRequest, conditions: SQL[]): Promise<Page<Invoice>> {
  const limit = pageSize(request.first);
  const afterId = decodeCursor(INVOICE_CURSOR, request.after);
  const scope = workspaceScope(viewer);
  if (scope && request.workspaceId && request.workspaceId !== scope) return { nodes: [], hasNextPage: false };

  const where = [...conditions];
  const workspaceId = scope ?? request.workspaceId;
  if (workspaceId) where.push(eq(invoices.workspaceId, workspaceId));
  if (afterId) where.push(sql`(${invoices.createdAt}, ${invoices.id}) < (SELECT created_at, id FROM invoices WHERE id = ${afterId})`);
  const rows = await db
    .select()
    .from(invoices)
    .where(and(...where))
    .orderBy(desc(invoices.createdAt), desc(invoices.id))
    .limit(limit + 1);
  return toPage(rows, limit);
}
