import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { processorEvents, type ProcessorEvent } from '../../db/schema/index.js';
import { requireOperator, type Viewer } from '../auth/viewer.js';
import { decodeCursor, pageSize, toPage, type Page } from '../pagination.js';

export const PROCESSOR_EVENT_CURSOR = 'processor-event';

export type ProcessorEventFilter = {
  requestedOnly?: boolean | null | undefined;
  provider?: string | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
};

/** The replay queue (requestedOnly, the default) or every event, newest first. Operators only. */
export async function listProcessorEvents(db: DbOrTx, viewer: Viewer, filter: ProcessorEventFilter): Promise<Page<ProcessorEvent>> {
  requireOperator(viewer, 'list processor events');
  const limit = pageSize(filter.first);
  const afterId = decodeCursor(PROCESSOR_EVENT_CURSOR, filter.after);
  const conditions: SQL[] = [];
  if (filter.requestedOnly ?? true) conditions.push(eq(processorEvents.replayRequested, true));
  if (filter.provider) conditions.push(eq(processorEvents.provider, filter.provider));
  if (afterId) {
    conditions.push(
      sql`(${processorEvents.receivedAt}, ${processorEvents.id}) < (SELECT received_at, id FROM processor_events WHERE id = ${afterId})`,
    );
  }
  const rows = await db
    .select()
    .from(processorEvents)
    .where(and(...conditions))
    .orderBy(desc(processorEvents.receivedAt), desc(processorEvents.id))
    .limit(limit + 1);
  return toPage(rows, limit);
}

export async function findProcessorEvent(db: DbOrTx, viewer: Viewer, id: string): Promise<ProcessorEvent | null> {
  requireOperator(viewer, 'read processor events');
  const [event] = await db.select().from(processorEvents).where(eq(processorEvents.id, id));
  return event ?? null;
}
