import { index, pgTable, text, timestamp, uuid, boolean } from 'drizzle-orm/pg-core';
import { processorEvents } from './processor-events.js';

/** Who asked for a processor event to be replayed, how (scheduled or forced), why, and what it answered. */
export const replayRequests = pgTable(
  'replay_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    processorEventId: uuid('processor_event_id')
      .notNull()
      .references(() => processorEvents.id),
    /** The api token that asked. */
    requestedBy: uuid('requested_by').notNull(),
    forced: boolean('forced').notNull(),
    /** Required for a forced replay. */
    reason: text('reason'),
    /** ACCEPTED (scheduled), REPLAYED or FAILED (forced). */
    outcome: text('outcome').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('replay_requests_event_idx').on(table.processorEventId, table.createdAt)],
);

export type ReplayRequest = typeof replayRequests.$inferSelect;
