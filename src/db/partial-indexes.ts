import { sql } from 'drizzle-orm';
import { invoices, paymentAttempts, processorEvents } from './schema/index.js';

/**
 * The conditions of the partial indexes, written as literals: a query whose condition arrives as bind
 * parameters can only use a partial index under a custom plan, and a generic plan (plan_cache_mode,
 * prepared statements) would read the whole table instead.
 */
export const attemptIsUnsettled = sql`${paymentAttempts.status} IN ('PENDING', 'UNKNOWN')`;
export const invoiceHasCaptures = sql`${invoices.amountCaptured} > 0`;
/** Events stored but never applied (a crash between storing and answering, say): the sweeper's first list. */
export const eventIsUnapplied = sql`${processorEvents.outcome} = 'RECEIVED'`;
/** Events a replay job is owed for: the sweeper's second list. */
export const eventReplayIsDue = sql`${processorEvents.replayDueAt} IS NOT NULL`;
/** Events waiting for their invoice, by the payment intent they name: released when that invoice appears. */
export const eventIsParkedWithIntent = sql`${processorEvents.replayRequested} AND ${processorEvents.invoiceId} IS NULL AND ${processorEvents.paymentIntentRef} IS NOT NULL`;
