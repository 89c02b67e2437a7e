import { asc, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import {
  invoiceAdjustments,
  invoices,
  invoiceTimelineEvents,
  paymentAttempts,
  processorEvents,
  refunds,
  workspaces,
  type Invoice,
  type InvoiceAdjustment,
  type InvoiceTimelineEvent,
  type PaymentAttempt,
  type ProcessorEvent,
  type Refund,
  type Workspace,
} from '../../db/schema/index.js';

/**
 * Batch reads behind the GraphQL DataLoaders: one statement for any number of invoices.
 * Callers have already checked that the viewer may see these invoices.
 */

function groupBy<T>(ids: readonly string[], rows: T[], key: (row: T) => string | null): T[][] {
  const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const row of rows) {
    const id = key(row);
    if (id !== null) groups.get(id)?.push(row);
  }
  return ids.map((id) => groups.get(id) ?? []);
}

export async function timelinesFor(db: DbOrTx, invoiceIds: readonly string[]): Promise<InvoiceTimelineEvent[][]> {
  const rows = await db
    .select()
    .from(invoiceTimelineEvents)
    .where(inArray(invoiceTimelineEvents.invoiceId, [...invoiceIds]))
    .orderBy(asc(invoiceTimelineEvents.occurredAt), asc(invoiceTimelineEvents.id));
  return groupBy(invoiceIds, rows, (row) => row.invoiceId);
}

export async function adjustmentsFor(db: DbOrTx, invoiceIds: readonly string[]): Promise<InvoiceAdjustment[][]> {
  const rows = await db
    .select()
    .from(invoiceAdjustments)
    .where(inArray(invoiceAdjustments.invoiceId, [...invoiceIds]))
    .orderBy(asc(invoiceAdjustments.createdAt), asc(invoiceAdjustments.id));
  return groupBy(invoiceIds, rows, (row) => row.invoiceId);
}

export async function refundsFor(db: DbOrTx, invoiceIds: readonly string[]): Promise<Refund[][]> {
  const rows = await db
    .select()
    .from(refunds)
    .where(inArray(refunds.invoiceId, [...invoiceIds]))
    .orderBy(asc(refunds.createdAt), asc(refunds.id));
  return groupBy(invoiceIds, rows, (row) => row.invoiceId);
}

export async function paymentAttemptsFor(db: DbOrTx, invoiceIds: readonly string[]): Promise<PaymentAttempt[][]> {
  const rows = await db
    .select()
    .from(paymentAttempts)
    .where(inArray(paymentAttempts.invoiceId, [...invoiceIds]))
    .orderBy(asc(paymentAttempts.createdAt), asc(paymentAttempts.id));
  return groupBy(invoiceIds, rows, (row) => row.invoiceId);
}

export async function processorEventsFor(db: DbOrTx, invoiceIds: readonly string[]): Promise<ProcessorEvent[][]> {
  const rows = await db
    .select()
    .from(processorEvents)
    .where(inArray(processorEvents.invoiceId, [...invoiceIds]))
    .orderBy(asc(processorEvents.receivedAt), asc(processorEvents.id));
  return groupBy(invoiceIds, rows, (row) => row.invoiceId);
}

export async function workspacesByIds(db: DbOrTx, ids: readonly string[]): Promise<(Workspace | null)[]> {
  const rows = await db.select().from(workspaces).where(inArray(workspaces.id, [...ids]));
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

export async function invoicesByIds(db: DbOrTx, ids: readonly string[]): Promise<(Invoice | null)[]> {
  const rows = await db.select().from(invoices).where(inArray(invoices.id, [...ids]));
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
