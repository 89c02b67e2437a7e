import { eq, sql } from 'drizzle-orm';
import { prepared } from '../../db/prepared.js';
import type { Tx } from '../../db/client.js';
import { invoices, workspaces, type Invoice, type Workspace } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { canSeeWorkspace, type Viewer } from '../auth/viewer.js';

/**
 * Locks the invoice row for the rest of the transaction: every change to an invoice's money goes
 * through this lock (invoice first, then its attempts), so concurrent requests see each other's
 * reservations and no two writers record the same processor movement.
 */
export async function lockInvoice(tx: Tx, viewer: Viewer | null, invoiceId: string): Promise<{ invoice: Invoice; workspace: Workspace }> {
  const [row] = await lockStatement(tx, { id: invoiceId });
  if (!row || (viewer && !canSeeWorkspace(viewer, row.invoice.workspaceId))) {
    throw new DomainError('NOT_FOUND', `Invoice ${invoiceId} not found`);
  }
  return row;
}

const lockStatement = prepared('lock_invoice', (db) =>
  db
    .select({ invoice: invoices, workspace: workspaces })
    .from(invoices)
    .innerJoin(workspaces, eq(workspaces.id, invoices.workspaceId))
    .where(eq(invoices.id, sql.placeholder('id')))
    .for('update', { of: invoices }),
);
