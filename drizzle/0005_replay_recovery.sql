ALTER TABLE "processor_events" ADD COLUMN "payment_intent_ref" text;--> statement-breakpoint
ALTER TABLE "processor_events" ADD COLUMN "replay_due_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "processor_events" ADD COLUMN "automatic_retries" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "processor_events_unapplied_idx" ON "processor_events" USING btree ("received_at") WHERE "processor_events"."outcome" = 'RECEIVED';--> statement-breakpoint
CREATE INDEX "processor_events_replay_due_idx" ON "processor_events" USING btree ("replay_due_at") WHERE "processor_events"."replay_due_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "processor_events_parked_intent_idx" ON "processor_events" USING btree ("payment_intent_ref") WHERE "processor_events"."replay_requested" AND "processor_events"."invoice_id" IS NULL AND "processor_events"."payment_intent_ref" IS NOT NULL;