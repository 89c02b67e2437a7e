import { and, desc, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { invoices, type Invoice, type InvoiceStatus } from '../../db/schema/index.js';
import { canSeeWorkspace, workspaceScope, type Viewer } from '../auth/viewer.js';
import { decodeCursor, pageSize, toPage, type Page } from '../pagination.js';
import { listRequestKey, listSubquery, reviveRows, type InvoiceListKind, type InvoiceListRows, type ListRequest } from './invoice-lists.js';

/**
 * The nested lists read with an invoice, when asked for (`include`): one statement for both. A list
 * read for some of its fields holds only those (and `id`): it answers the query that asked, nothing else.
 */
export type InvoiceLists = { [K in InvoiceListKind]?: InvoiceListRows[K][] };
export type InvoiceWithLists = Invoice & { lists: InvoiceLists };

const invoiceColumns = getTableColumns(invoices);

/** The invoice's columns and, for each kind in `include`, its list as one more column. */
function invoiceSelection(include: readonly ListRequest[]) {
  if (include.length === 0) return invoiceColumns;
  return { ...invoiceColumns, ...Object.fromEntries(include.map((request) => [`list:${request.kind}`, sql<unknown>`${listSubquery(request)}`])) };
}

const includeKey = (include: readonly ListRequest[]): string => include.map(listRequestKey).join(',');

function withLists(row: Record<string, unknown>, include: readonly ListRequest[]): InvoiceWithLists {
  const lists: Record<string, unknown[]> = {};
  for (const { kind } of include) {
    lists[kind] = reviveRows(kind, row[`list:${kind}`] as Record<string, unknown>[]);
    delete row[`list:${kind}`];
  }
  return Object.assign(row as Invoice, { lists });
}

export const INVOICE_CURSOR = 'invoice';

/**
 * The reads of the GraphQL hot path are built once per shape and kept as Drizzle prepared queries (per
 * database handle): building a select costs more Node CPU than running it. Values are placeholders.
 */
const prepared = new WeakMap<object, Map<string, unknown>>();

function preparedFor<T>(db: DbOrTx, key: string, build: () => T): T {
  let queries = prepared.get(db);
  if (!queries) prepared.set(db, (queries = new Map()));
  let query = queries.get(key) as T | undefined;
  if (!query) queries.set(key, (query = build()));
  return query;
}

function byIdQuery(db: DbOrTx, include: readonly ListRequest[]) {
  const key = `invoice:${includeKey(include)}`;
  return preparedFor(db, key, () =>
    db.select(invoiceSelection(include)).from(invoices).where(eq(invoices.id, sql.placeholder('id'))).prepare(key),
  );
}

/** The invoice, or null when it does not exist or lies outside the viewer's workspace. */
export async function findInvoice(db: DbOrTx, viewer: Viewer, id: string, include: readonly ListRequest[] = []): Promise<InvoiceWithLists | null> {
  const [row] = await byIdQuery(db, include).execute({ id });
  if (!row || !canSeeWorkspace(viewer, row.workspaceId)) return null;
  return withLists(row as Record<string, unknown> & Invoice, include);
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
  include: readonly ListRequest[] = [],
): Promise<Page<InvoiceWithLists>> {
  const limit = pageSize(filter.first);
  const afterId = decodeCursor(INVOICE_CURSOR, filter.after);
  const scope = workspaceScope(viewer);
  if (scope && filter.workspaceId && filter.workspaceId !== scope) return { nodes: [], hasNextPage: false };

  const workspaceId = scope ?? filter.workspaceId;
  const statuses = filter.statuses && filter.statuses.length > 0 ? filter.statuses : undefined;
  const shape = { workspace: Boolean(workspaceId), statuses: Boolean(statuses), after: Boolean(afterId) };
  const key = `page:${Number(shape.workspace)}${Number(shape.statuses)}${Number(shape.after)}:${includeKey(include)}`;
  const query = preparedFor(db, key, () => {
    const conditions: SQL[] = [];
    if (shape.workspace) conditions.push(eq(invoices.workspaceId, sql.placeholder('workspaceId')));
    if (shape.statuses) conditions.push(sql`${invoices.status} = any(${sql.placeholder('statuses')}::text[])`);
    if (shape.after) {
      conditions.push(
        sql`(${invoices.createdAt}, ${invoices.id}) < (SELECT created_at, id FROM invoices WHERE id = ${sql.placeholder('afterId')})`,
      );
    }
    return db
      .select(invoiceSelection(include))
      .from(invoices)
      .where(and(...conditions))
      .orderBy(desc(invoices.createdAt), desc(invoices.id))
      .limit(sql.placeholder('limit'))
      .prepare(key);
  });
  const rows = (await query.execute({ workspaceId, statuses, afterId, limit: limit + 1 })) as (Record<string, unknown> & Invoice)[];
  return toPage(
    rows.map((row) => withLists(row, include)),
    limit,
  );
}

export type InvoicePageRequest = Pick<InvoiceFilter, 'workspaceId' | 'first' | 'after'>;

/**
 * One keyset page of the invoices the viewer may see that meet `conditions`, in `listInvoices`'s order
 * and scoping, for filters too varied to keep prepared (the dashboard's search): a service token never
 * leaves its workspace (asking for another one is an empty page, not an error).
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
