import { and, eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { eventIsParkedWithIntent } from '../../db/partial-indexes.js';
import { processorEvents } from '../../db/schema/index.js';
import type { JobQueue } from '../jobs/queues.js';
import { scheduleReplays } from './schedule-replays.js';

/**
 * An invoice now carries `paymentIntentId`: every event parked for want of an invoice that names that
 * payment intent gets a replay, enqueued in the caller's transaction (the one that wrote the invoice),
 * so the replays run only if the invoice is committed and always if it is. Rows a replay is applying
 * right now are waited for, not skipped: that replay cannot see this invoice yet and will fail.
 */
export async function releaseParkedEvents(tx: Tx, jobs: JobQueue, paymentIntentId: string): Promise<number> {
  const released = await scheduleReplays(
    tx,
    jobs,
    and(eventIsParkedWithIntent, eq(processorEvents.paymentIntentRef, paymentIntentId))!,
    'released',
  );
  return released.length;
}
