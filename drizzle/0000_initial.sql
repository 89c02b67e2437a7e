CREATE TABLE "workspaces" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"slug" text NOT NULL,
	"billing_pilot" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspaces_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"number" text NOT NULL,
	"currency" text NOT NULL,
	"amount_due" bigint NOT NULL,
	"amount_captured" bigint DEFAULT 0 NOT NULL,
	"amount_refunded" bigint DEFAULT 0 NOT NULL,
	"status" text GENERATED ALWAYS AS (CASE
  WHEN voided_at IS NOT NULL THEN 'VOID'
  WHEN amount_refunded > 0 AND amount_refunded = amount_captured THEN 'REFUNDED'
  WHEN amount_refunded > 0 THEN 'PARTIALLY_REFUNDED'
  WHEN amount_captured > 0 AND amount_captured = amount_due THEN 'CAPTURED'
  WHEN amount_captured > 0 THEN 'PARTIALLY_CAPTURED'
  ELSE 'OPEN'
END) STORED NOT NULL,
	"payment_intent_id" text,
	"external_processor_id" text,
	"captured_at" timestamp with time zone,
	"settled_at" timestamp with time zone,
	"voided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "invoices_workspace_number_unique" UNIQUE("workspace_id","number"),
	CONSTRAINT "invoices_totals_ordered" CHECK (0 <= "invoices"."amount_refunded" AND "invoices"."amount_refunded" <= "invoices"."amount_captured" AND "invoices"."amount_captured" <= "invoices"."amount_due"),
	CONSTRAINT "invoices_currency_iso" CHECK ("invoices"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "invoices_void_uncaptured" CHECK ("invoices"."voided_at" IS NULL OR "invoices"."amount_captured" = 0)
);
--> statement-breakpoint
CREATE TABLE "payment_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"invoice_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"reason" text,
	"note" text,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"processor_object_id" text,
	"error_code" text,
	"error_message" text,
	"requested_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	"metadata" jsonb,
	CONSTRAINT "payment_attempts_idempotency_unique" UNIQUE("invoice_id","kind","idempotency_key"),
	CONSTRAINT "payment_attempts_amount_positive" CHECK ("payment_attempts"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "processor_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"provider" text NOT NULL,
	"external_id" text NOT NULL,
	"event_type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"payload_hash" text NOT NULL,
	"correlation_id" text,
	"workspace_hint" uuid,
	"invoice_id" uuid,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone,
	"outcome" text DEFAULT 'RECEIVED' NOT NULL,
	"replay_requested" boolean DEFAULT true NOT NULL,
	"replay_attempts" integer DEFAULT 0 NOT NULL,
	"last_replay_error" text,
	"last_replayed_at" timestamp with time zone,
	CONSTRAINT "processor_events_provider_external_unique" UNIQUE("provider","external_id"),
	CONSTRAINT "processor_events_provider_payload_unique" UNIQUE("provider","payload_hash")
);
--> statement-breakpoint
CREATE TABLE "invoice_adjustments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"invoice_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"reason_code" text,
	"note" text,
	"source" text NOT NULL,
	"payment_attempt_id" uuid,
	"processor_event_id" uuid,
	"processor_object_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "invoice_adjustments_attempt_unique" UNIQUE("payment_attempt_id"),
	CONSTRAINT "invoice_adjustments_sign" CHECK (("invoice_adjustments"."kind" = 'CAPTURE' AND "invoice_adjustments"."amount" > 0) OR ("invoice_adjustments"."kind" = 'REFUND' AND "invoice_adjustments"."amount" < 0))
);
--> statement-breakpoint
CREATE TABLE "invoice_timeline_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"invoice_id" uuid NOT NULL,
	"type" text NOT NULL,
	"source" text NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"adjustment_id" uuid,
	"payment_attempt_id" uuid,
	"processor_event_id" uuid,
	"dedupe_key" text NOT NULL,
	CONSTRAINT "invoice_timeline_events_dedupe_unique" UNIQUE("dedupe_key")
);
--> statement-breakpoint
CREATE TABLE "refunds" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"invoice_id" uuid NOT NULL,
	"adjustment_id" uuid NOT NULL,
	"payment_attempt_id" uuid,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"reason" text NOT NULL,
	"note" text,
	"source" text NOT NULL,
	"processor_refund_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "refunds_processor_refund_id_unique" UNIQUE("processor_refund_id"),
	CONSTRAINT "refunds_amount_positive" CHECK ("refunds"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"workspace_id" uuid,
	"token_hash" text NOT NULL,
	"token_prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash"),
	CONSTRAINT "api_tokens_scope" CHECK (("api_tokens"."role" = 'OPERATOR' AND "api_tokens"."workspace_id" IS NULL) OR ("api_tokens"."role" = 'SERVICE' AND "api_tokens"."workspace_id" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE "reconciliation_mismatches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" uuid NOT NULL,
	"invoice_id" uuid NOT NULL,
	"field" text NOT NULL,
	"expected" bigint NOT NULL,
	"found" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reconciliation_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"trigger" text NOT NULL,
	"status" text DEFAULT 'RUNNING' NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"attempts_settled" integer DEFAULT 0 NOT NULL,
	"timeline_events_backfilled" integer DEFAULT 0 NOT NULL,
	"settlements_backfilled" integer DEFAULT 0 NOT NULL,
	"invoices_checked" integer DEFAULT 0 NOT NULL,
	"mismatches_found" integer DEFAULT 0 NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "setting_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"old_value" jsonb,
	"new_value" jsonb NOT NULL,
	"changed_by" uuid,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" uuid
);
--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD CONSTRAINT "payment_attempts_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "processor_events" ADD CONSTRAINT "processor_events_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_adjustments" ADD CONSTRAINT "invoice_adjustments_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_adjustments" ADD CONSTRAINT "invoice_adjustments_payment_attempt_id_payment_attempts_id_fk" FOREIGN KEY ("payment_attempt_id") REFERENCES "public"."payment_attempts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_adjustments" ADD CONSTRAINT "invoice_adjustments_processor_event_id_processor_events_id_fk" FOREIGN KEY ("processor_event_id") REFERENCES "public"."processor_events"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_timeline_events" ADD CONSTRAINT "invoice_timeline_events_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_timeline_events" ADD CONSTRAINT "invoice_timeline_events_adjustment_id_invoice_adjustments_id_fk" FOREIGN KEY ("adjustment_id") REFERENCES "public"."invoice_adjustments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_timeline_events" ADD CONSTRAINT "invoice_timeline_events_payment_attempt_id_payment_attempts_id_fk" FOREIGN KEY ("payment_attempt_id") REFERENCES "public"."payment_attempts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_timeline_events" ADD CONSTRAINT "invoice_timeline_events_processor_event_id_processor_events_id_fk" FOREIGN KEY ("processor_event_id") REFERENCES "public"."processor_events"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_adjustment_id_invoice_adjustments_id_fk" FOREIGN KEY ("adjustment_id") REFERENCES "public"."invoice_adjustments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_payment_attempt_id_payment_attempts_id_fk" FOREIGN KEY ("payment_attempt_id") REFERENCES "public"."payment_attempts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliation_mismatches" ADD CONSTRAINT "reconciliation_mismatches_run_id_reconciliation_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."reconciliation_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliation_mismatches" ADD CONSTRAINT "reconciliation_mismatches_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "invoices_created_id_idx" ON "invoices" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "invoices_workspace_created_id_idx" ON "invoices" USING btree ("workspace_id","created_at","id");--> statement-breakpoint
CREATE INDEX "invoices_payment_intent_idx" ON "invoices" USING btree ("payment_intent_id") WHERE "invoices"."payment_intent_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "invoices_unsettled_idx" ON "invoices" USING btree ("captured_at") WHERE "invoices"."amount_captured" > 0 AND "invoices"."settled_at" IS NULL;--> statement-breakpoint
CREATE INDEX "payment_attempts_invoice_idx" ON "payment_attempts" USING btree ("invoice_id","created_at");--> statement-breakpoint
CREATE INDEX "payment_attempts_pending_idx" ON "payment_attempts" USING btree ("created_at") WHERE "payment_attempts"."status" IN ('PENDING', 'UNKNOWN');--> statement-breakpoint
CREATE INDEX "processor_events_received_idx" ON "processor_events" USING btree ("received_at","id");--> statement-breakpoint
CREATE INDEX "processor_events_replay_queue_idx" ON "processor_events" USING btree ("received_at","id") WHERE "processor_events"."replay_requested";--> statement-breakpoint
CREATE INDEX "processor_events_invoice_idx" ON "processor_events" USING btree ("invoice_id") WHERE "processor_events"."invoice_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "invoice_adjustments_invoice_idx" ON "invoice_adjustments" USING btree ("invoice_id","created_at");--> statement-breakpoint
CREATE INDEX "invoice_timeline_events_invoice_idx" ON "invoice_timeline_events" USING btree ("invoice_id","occurred_at");--> statement-breakpoint
CREATE INDEX "refunds_invoice_idx" ON "refunds" USING btree ("invoice_id","created_at");--> statement-breakpoint
CREATE INDEX "reconciliation_mismatches_run_idx" ON "reconciliation_mismatches" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "reconciliation_runs_started_idx" ON "reconciliation_runs" USING btree ("started_at");