import { getTableColumns, sql, type Column, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type postgres from 'postgres';
import type { Db } from '../../db/client.js';
import {
  invoiceAdjustments,
  invoiceTimelineEvents,
  paymentAttempts,
  refunds,
  type InvoiceAdjustment,
  type InvoiceTimelineEvent,
  type PaymentAttempt,
  type Refund,
} from '../../db/schema/index.js';

/**
 * An invoice's nested lists — ledger lines, timeline, refunds, payment attempts — for any number of
 * invoices and any mix of lists in ONE statement: a `UNION ALL` of one `json_agg` per list asked for,
 * grouped by invoice. A GraphQL page asking for three lists costs one round trip, not three.
 *
 * The statement texts are built once per combination of lists from the Drizzle tables (so a new column
 * is read without touching this file) and sent as fixed prepared statements: the hot read path spends
 * no time building SQL. Rows come back as JSON; bigint amounts are JSON numbers (amounts are bounded to
 * 2^53−1) and timestamps are turned back into Dates, so each row has the shape Drizzle would return.
 * Callers have already checked that the viewer may see these invoices.
 */

export type InvoiceListRows = {
  adjustments: InvoiceAdjustment;
  timeline: InvoiceTimelineEvent;
  refunds: Refund;
  paymentAttempts: PaymentAttempt;
};
export type InvoiceListKind = keyof InvoiceListRows;
export const INVOICE_LIST_KINDS: readonly InvoiceListKind[] = ['adjustments', 'timeline', 'refunds', 'paymentAttempts'];

type ListSource = { table: PgTable; orderBy: string; dates: string[]; columns: Map<string, Column>; build: string };

/** `json_build_object` of the given columns (by their keys in the Drizzle table). */
function buildObject(columns: Map<string, Column>, keys: Iterable<string>): string {
  return `json_build_object(${[...keys].map((key) => `'${key}', t."${columns.get(key)!.name}"`).join(', ')})`;
}

function source(table: PgTable, orderColumn: string): ListSource {
  const columns = new Map(Object.entries(getTableColumns(table)) as [string, Column][]);
  return {
    table,
    orderBy: `t."${orderColumn}", t."id"`,
    dates: [...columns].filter(([, column]) => column.dataType === 'date').map(([key]) => key),
    columns,
    build: buildObject(columns, columns.keys()),
  };
}

/**
 * A list read with its invoice: which kind, and which of its columns (by Drizzle key; null: all of them).
 * Asking only for the fields a query selects keeps Postgres from building JSON nobody reads.
 */
export type ListRequest = { kind: InvoiceListKind; fields: readonly string[] | null };

/** The columns a list request reads: its fields when every one is a column (and `id`), else all. */
export function listRequest(kind: InvoiceListKind, fields: Iterable<string>): ListRequest {
  const { columns } = SOURCES[kind];
  const wanted = new Set(['id', ...fields]);
  return { kind, fields: [...wanted].every((field) => columns.has(field)) ? [...wanted].sort() : null };
}

export const listRequestKey = (request: ListRequest): string => `${request.kind}(${request.fields?.join(' ') ?? '*'})`;

const tableName = (table: PgTable): string => (table as unknown as Record<symbol, string>)[Symbol.for('drizzle:Name')]!;

const SOURCES: Record<InvoiceListKind, ListSource> = {
  adjustments: source(invoiceAdjustments, 'created_at'),
  timeline: source(invoiceTimelineEvents, 'occurred_at'),
  refunds: source(refunds, 'created_at'),
  paymentAttempts: source(paymentAttempts, 'created_at'),
};

/** Rows as JSON turned back into Drizzle's shape: timestamps become Dates again. */
export function reviveRows<K extends InvoiceListKind>(kind: K, rows: Record<string, unknown>[]): InvoiceListRows[K][] {
  const { dates } = SOURCES[kind];
  for (const item of rows) for (const key of dates) if (typeof item[key] === 'string') item[key] = new Date(item[key] as string);
  return rows as InvoiceListRows[K][];
}

const subqueries = new Map<string, string>();

/**
 * One invoice's list as a JSON array, for a select on `invoices` itself: the by-id and page queries
 * embed the lists a GraphQL query asks for, so a page and its lists are one statement (as PostGraphile
 * does). The text is fixed per kind; Postgres runs it once per invoice row, by the invoice_id index.
 */
export function listSubquery(request: ListRequest): SQL {
  const key = listRequestKey(request);
  let text = subqueries.get(key);
  if (!text) {
    const { table, orderBy, build, columns } = SOURCES[request.kind];
    const object = request.fields ? buildObject(columns, request.fields) : build;
    text = `(SELECT coalesce(json_agg(${object} ORDER BY ${orderBy}), '[]'::json) FROM "${tableName(table)}" t WHERE t.invoice_id = "invoices"."id")`;
    subqueries.set(key, text);
  }
  return sql.raw(text);
}

const statements = new Map<string, string>();

function statementFor(kinds: InvoiceListKind[]): string {
  const key = kinds.join(',');
  let text = statements.get(key);
  if (!text) {
    text = kinds
      .map((kind, index) => {
        const { table, orderBy, build } = SOURCES[kind];
        return `SELECT '${kind}' AS kind, t.invoice_id, json_agg(${build} ORDER BY ${orderBy}) AS rows FROM "${tableName(table)}" t WHERE t.invoice_id = ANY($${index + 1}::uuid[]) GROUP BY t.invoice_id`;
      })
      .join('\nUNION ALL\n');
    statements.set(key, text);
  }
  return text;
}

type ListRow = { kind: InvoiceListKind; invoice_id: string; rows: Record<string, unknown>[] };

/** The postgres.js pool under Drizzle (drizzle() keeps it as `$client`; the Db type does not say so). */
function clientOf(db: Db): postgres.Sql {
  const client = (db as unknown as { $client?: postgres.Sql }).$client;
  if (!client) throw new Error('invoiceListsFor needs a Drizzle database over postgres.js');
  return client;
}

/** For each kind asked for, each invoice's list in order (empty when it has none). */
export async function invoiceListsFor(
  db: Db,
  wanted: Partial<Record<InvoiceListKind, readonly string[]>>,
): Promise<{ [K in InvoiceListKind]?: Map<string, InvoiceListRows[K][]> }> {
  const kinds = INVOICE_LIST_KINDS.filter((kind) => (wanted[kind]?.length ?? 0) > 0);
  const result: { [K in InvoiceListKind]?: Map<string, unknown[]> } = {};
  if (kinds.length === 0) return result as never;
  for (const kind of kinds) result[kind] = new Map(wanted[kind]!.map((id) => [id, []]));
  const rows = await clientOf(db).unsafe<ListRow[]>(
    statementFor(kinds),
    kinds.map((kind) => [...wanted[kind]!]),
  );
  for (const row of rows) result[row.kind]!.set(row.invoice_id, reviveRows(row.kind, row.rows));
  return result as never;
}
