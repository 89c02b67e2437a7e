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
export async function listInvoices(db: DbOrTx, viewer: Viewer, filter: InvoiceFilter): Promise<Page<Invoice>> {
  const limit = pageSize(filter.first);
  const afterId = decodeCursor(INVOICE_CURSOR, filter.after);
  const scope = workspaceScope(viewer);
  if (scope && filter.workspaceId && filter.workspaceId !== scope) return { nodes: [], hasNextPage: false };

  const conditions: SQL[] = [];
  const workspaceId = scope ?? filter.workspaceId;
  if (workspaceId) conditions.push(eq(invoices.workspaceId, workspaceId));
  if (filter.statuses && filter.statuses.length > 0) conditions.push(inArray(invoices.status, filter.statuses));
  if (afterId) {
    conditions.push(
      sql`(${invoices.createdAt}, ${invoices.id}) < (SELECT created_at, id FROM invoices WHERE id = ${afterId})`,
    );
  }
  const rows = await db
    .select()
    .from(invoices)
    .where(and(...conditions))
    .orderBy(desc(invoices.createdAt), desc(invoices.id))
    .limit(limit + 1);
  return toPage(rows, limit);
}
