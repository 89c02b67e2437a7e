import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { invoiceAdjustments, invoices, invoiceTimelineEvents, type InvoiceAdjustment, type InvoiceStatus, type InvoiceTimelineEvent } from '../../db/schema/index.js';
import { requireOperator, type Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { processEvent, type ProcessResult } from './process-event.js';

export type DryRunReport = {
  eventId: string;
  outcome: ProcessResult['outcome'];
  error: string | null;
  invoice: { id: string; number: string; statusBefore: InvoiceStatus | null; statusAfter: InvoiceStatus } | null;
  ledgerLines: InvoiceAdjustment[];
  timelineEntries: InvoiceTimelineEvent[];
};

/** Thrown from inside the replay's transaction to roll everything back, carrying what it saw. */
class DryRunRollback extends Error {
  constructor(readonly report: DryRunReport) {
    super('dry run: rolled back');
  }
}

/**
 * What a forced replay of this event would do, without doing it: the very same `processEvent`, whose
 * transaction is rolled back just before it would commit. What it wrote is what the transaction sees
 * less what the rest of the database (another connection, which cannot see uncommitted rows) sees;
 * the invoice is locked by then, so nothing else changes it meanwhile. Refusals (`NOT_FOUND`,
 * `REPLAY_LIMIT_REACHED`) are thrown as a real replay throws them. No metric is counted.
 */
export async function dryRunReplay(deps: Deps, viewer: Viewer, eventId: string): Promise<DryRunReport> {
  requireOperator(viewer, 'dry-run processor event replays');
  try {
    await processEvent(deps, eventId, 'forced', async (tx, result) => {
      throw new DryRunRollback(await describeChanges(deps, tx, result));
    });
  } catch (error) {
    if (error instanceof DryRunRollback) return error.report;
    throw error;
  }
  throw new Error('dry run committed: the rollback hook did not run');
}

async function describeChanges(deps: Deps, tx: DbOrTx, result: ProcessResult): Promise<DryRunReport> {
  const base = { eventId: result.event.id, outcome: result.outcome, error: result.error };
  const invoiceId = result.event.invoiceId;
  if (!invoiceId) return { ...base, invoice: null, ledgerLines: [], timelineEntries: [] };
  const [inside, outside] = await Promise.all([invoiceState(tx, invoiceId), invoiceState(deps.db, invoiceId)]);
  const known = (rows: { id: string }[]) => new Set(rows.map((row) => row.id));
  const committedLines = known(outside.lines);
  const committedEntries = known(outside.entries);
  return {
    ...base,
    invoice: { id: invoiceId, number: inside.invoice!.number, statusBefore: outside.invoice?.status ?? null, statusAfter: inside.invoice!.status },
    ledgerLines: inside.lines.filter((line) => !committedLines.has(line.id)),
    timelineEntries: inside.entries.filter((entry) => !committedEntries.has(entry.id)),
  };
}

async function invoiceState(db: DbOrTx, invoiceId: string) {
  const [[invoice], lines, entries] = await Promise.all([
    db.select({ number: invoices.number, status: invoices.status }).from(invoices).where(eq(invoices.id, invoiceId)),
    db.select().from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, invoiceId)),
    db.select().from(invoiceTimelineEvents).where(eq(invoiceTimelineEvents.invoiceId, invoiceId)),
  ]);
  return { invoice, lines, entries };
}
