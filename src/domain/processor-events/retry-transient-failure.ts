import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { processorEvents, type ProcessorEvent } from '../../db/schema/index.js';
import type { JobQueue } from '../jobs/queues.js';
import { scheduleReplays } from './schedule-replays.js';

/** 5 s, 10 s, 20 s … 160 s: about five minutes of automatic retries, then the event waits for an operator. */
const MAX_AUTOMATIC_RETRIES = 6;
const FIRST_DELAY_SECONDS = 5;

/**
 * An event that failed for a transient reason (deadlock, timeout: nothing about the event itself) is
 * tried again automatically, with backoff, in the transaction that recorded the failure. These retries
 * are counted in `automatic_retries`, not against the operator's REPLAY_MAX_ATTEMPTS; once they are
 * used up the event waits for an operator like any failure.
 */
export async function retryAfterTransientFailure(tx: Tx, jobs: JobQueue, event: ProcessorEvent): Promise<void> {
  if (event.automaticRetries >= MAX_AUTOMATIC_RETRIES) return;
  const condition = eq(processorEvents.id, event.id);
  await tx
    .update(processorEvents)
    .set({ automaticRetries: sql`${processorEvents.automaticRetries} + 1` })
    .where(condition);
  await scheduleReplays(tx, jobs, condition, 'transient', FIRST_DELAY_SECONDS * 2 ** event.automaticRetries);
}
