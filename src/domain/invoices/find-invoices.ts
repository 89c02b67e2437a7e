import { and, desc, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { invoices, type Invoice, type InvoiceStatus } from '../../db/schema/index.js';
import { canSeeWorkspace, workspaceScope, type Viewer } from '../auth/viewer.js';
import { decodeCursor, pageSize, toPage, type Page } from '../pagination.js';
import { listSubquery, reviveRows, type InvoiceListKind, type InvoiceListRows } from './invoice-lists.js';

/** The nested lists read with an invoice, when asked for (`include`): one statement for both. */
export type InvoiceLists = { [K in InvoiceListKind]?: InvoiceListRows[K][] };
export type InvoiceWithLists = Invoice & { lists: InvoiceLists };

const invoiceColumns = getTableColumns(invoices);

/** The invoice's columns and, for each kind in `include`, its list as one more column. */
function invoiceSelection(include: readonly InvoiceListKind[]) {
  if (include.length === 0) return invoiceColumns;
  return { ...invoiceColumns, ...Object.fromEntries(include.map((kind) => [`list:${kind}`, sql<unknown>`${listSubquery(kind)}`])) };
}

function withLists(row: Record<string, unknown>, include: readonly InvoiceListKind[]): InvoiceWithLists {
  const lists: Record<string, unknown[]> = {};
  for (const kind of include) {
    lists[kind] = reviveRows(kind, row[`list:${kind}`] as Record<string, unknown>[]);
    delete row[`list:${kind}`];
  }
  return Object.assign(row as Invoice, { lists });
}

export const INVOICE_CURSOR = 'invoice';

/** The invoice, or null when it does not exist or lies outside the viewer's workspace. */
export async function findInvoice(db: DbOrTx, viewer: Viewer, id: string, include: readonly InvoiceListKind[] = []): Promise<InvoiceWithLists | null> {
  const [row] = await db.select(invoiceSelection(include)).from(invoices).where(eq(invoices.id, id));
  if (!row || !canSeeWorkspace(viewer, row.workspaceId)) return null;
  return withLists(row, include);
}

export type InvoiceFilter = {
  workspaceId?: string | null | undefined;
  statuses?: InvoiceStatus[] | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
};

/** Newest first, by keyset on (created_at, id) so pages stay stable while invoices are added. */
export async function listInvoices(
  db: DbOrTx,
  viewer: Viewer,
  filter: InvoiceFilter,
  include: readonly InvoiceListKind[] = [],
): Promise<Page<InvoiceWithLists>> {
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
    .select(invoiceSelection(include))
    .from(invoices)
    .where(and(...conditions))
    .orderBy(desc(invoices.createdAt), desc(invoices.id))
    .limit(limit + 1);
  return toPage(
    rows.map((row) => withLists(row, include)),
    limit,
  );
}
