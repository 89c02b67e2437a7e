import { eq } from 'drizzle-orm';
import { isUniqueViolation } from '../../db/errors.js';
import { invoices, workspaces, type Invoice } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { canSeeWorkspace, type Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { parseAmount, parseCurrency } from '../ledger/money.js';
import { appendTimelineEvents } from '../ledger/timeline.js';
import { releaseParkedEvents } from '../processor-events/release-parked-events.js';

export type CreateInvoiceInput = {
  workspaceId: string;
  number: string;
  currency: string;
  amountDue: number;
  paymentIntentId?: string | null | undefined;
};

const MAX_NUMBER_LENGTH = 64;

/**
 * A new invoice, with its INVOICE_CREATED timeline event. When it carries a payment intent, processor
 * events that arrived before it (parked for want of an invoice) are released in the same transaction.
 */
export async function createInvoice(deps: Pick<Deps, 'db' | 'jobs'>, viewer: Viewer, input: CreateInvoiceInput): Promise<Invoice> {
  const currency = parseCurrency(input.currency);
  const amountDue = parseAmount(input.amountDue, 'amountDue');
  const number = input.number.trim();
  if (number === '' || number.length > MAX_NUMBER_LENGTH) {
    throw new DomainError('BAD_USER_INPUT', `number must be 1 to ${MAX_NUMBER_LENGTH} characters`, { field: 'number' });
  }
  const paymentIntentId = input.paymentIntentId?.trim() || null;

  return deps.db.transaction(async (tx) => {
    const [workspace] = await tx.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, input.workspaceId));
    if (!workspace || !canSeeWorkspace(viewer, workspace.id)) {
      throw new DomainError('NOT_FOUND', `Workspace ${input.workspaceId} not found`);
    }
    try {
      const [invoice] = await tx
        .insert(invoices)
        .values({ workspaceId: workspace.id, number, currency, amountDue, paymentIntentId })
        .returning();
      await appendTimelineEvents(tx, [
        {
          invoiceId: invoice!.id,
          type: 'INVOICE_CREATED',
          source: 'API',
          dedupeKey: `invoice:${invoice!.id}:created`,
          occurredAt: invoice!.createdAt,
          data: { amountDue, currency, number },
        },
      ]);
      if (paymentIntentId) await releaseParkedEvents(tx, deps.jobs, paymentIntentId);
      return invoice!;
    } catch (error) {
      if (isUniqueViolation(error, 'invoices_workspace_number_unique')) {
        throw new DomainError('BAD_USER_INPUT', `Invoice number ${number} already exists in this workspace`, {
          field: 'number',
        });
      }
      throw error;
    }
  });
}
