import { sql } from 'drizzle-orm';
import { boolean, customType, index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { invoices } from './invoices.js';

export const PROCESSOR_EVENT_OUTCOMES = ['RECEIVED', 'PROCESSED', 'IGNORED', 'FAILED'] as const;
export type ProcessorEventOutcome = (typeof PROCESSOR_EVENT_OUTCOMES)[number];

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/** Every webhook, stored exactly once before it changes anything. */
export const processorEvents = pgTable(
  'processor_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    provider: text('provider').notNull(),
    externalId: text('external_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    /**
     * The delivery's exact bytes, kept only for a poison event: one whose payload Postgres would not
     * store as jsonb (a \u0000 escape, a lone surrogate) or nested too deep to be handled. Its
     * `payload` is then only a placeholder naming the event, and the event is never applied.
     */
    payloadRaw: bytea('payload_raw'),
    payloadHash: text('payload_hash').notNull(),
    correlationId: text('correlation_id'),
    workspaceHint: uuid('workspace_hint'),
    invoiceId: uuid('invoice_id').references(() => invoices.id),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp('processed_at', { withTimezone: true }),
    outcome: text('outcome', { enum: PROCESSOR_EVENT_OUTCOMES }).notNull().default('RECEIVED'),
    replayRequested: boolean('replay_requested').notNull().default(true),
    replayAttempts: integer('replay_attempts').notNull().default(0),
    lastReplayError: text('last_replay_error'),
    lastReplayedAt: timestamp('last_replayed_at', { withTimezone: true }),
    /** The payment intent the event's object belongs to, taken at record time: what releases a parked event. */
    paymentIntentRef: text('payment_intent_ref'),
    /** A replay job is owed from this time (set with its job, cleared when the event is processed); null: none. */
    replayDueAt: timestamp('replay_due_at', { withTimezone: true }),
    /** Automatic retries scheduled after transient failures; counted apart from the operator's replay_attempts. */
    automaticRetries: integer('automatic_retries').notNull().default(0),
  },
  (table) => [
    unique('processor_events_provider_external_unique').on(table.provider, table.externalId),
    unique('processor_events_provider_payload_unique').on(table.provider, table.payloadHash),
    index('processor_events_received_idx').on(table.receivedAt, table.id),
    // The replay queue: small, and read often by operators, the metrics scrape and the worker.
    index('processor_events_replay_queue_idx')
      .on(table.receivedAt, table.id)
      .where(sql`${table.replayRequested}`),
    index('processor_events_invoice_idx').on(table.invoiceId).where(sql`${table.invoiceId} IS NOT NULL`),
    // The sweeper's and the release's work lists (src/db/partial-indexes.ts): each holds only the rows
    // still waiting, so reading them costs the same however long the history grows.
    index('processor_events_unapplied_idx')
      .on(table.receivedAt)
      .where(sql`${table.outcome} = 'RECEIVED'`),
    index('processor_events_replay_due_idx')
      .on(table.replayDueAt)
      .where(sql`${table.replayDueAt} IS NOT NULL`),
    index('processor_events_parked_intent_idx')
      .on(table.paymentIntentRef)
      .where(sql`${table.replayRequested} AND ${table.invoiceId} IS NULL AND ${table.paymentIntentRef} IS NOT NULL`),
  ],
);

export type ProcessorEvent = typeof processorEvents.$inferSelect;
