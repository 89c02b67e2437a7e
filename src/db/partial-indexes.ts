import { sql } from 'drizzle-orm';
import { invoices, paymentAttempts } from './schema/index.js';

/**
 * The conditions of the partial indexes, written as literals: a query whose condition arrives as bind
 * parameters can only use a partial index under a custom plan, and a generic plan (plan_cache_mode,
 * prepared statements) would read the whole table instead.
 */
export const attemptIsUnsettled = sql`${paymentAttempts.status} IN ('PENDING', 'UNKNOWN')`;
export const invoiceHasCaptures = sql`${invoices.amountCaptured} > 0`;
