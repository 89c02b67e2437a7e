ALTER TABLE "payment_attempts" DROP CONSTRAINT "payment_attempts_idempotency_unique";--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD COLUMN "workspace_id" uuid;--> statement-breakpoint
UPDATE "payment_attempts" p SET "workspace_id" = i."workspace_id" FROM "invoices" i WHERE i."id" = p."invoice_id";--> statement-breakpoint
-- Keys were scoped per invoice and kind before; a key used twice in one workspace keeps its first use, later uses get their attempt id appended.
UPDATE "payment_attempts" p SET "idempotency_key" = p."idempotency_key" || '#' || p."id" WHERE EXISTS (SELECT 1 FROM "payment_attempts" q WHERE q."workspace_id" = p."workspace_id" AND q."idempotency_key" = p."idempotency_key" AND (q."created_at", q."id") < (p."created_at", p."id"));--> statement-breakpoint
ALTER TABLE "payment_attempts" ALTER COLUMN "workspace_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "invoice_adjustments" ADD COLUMN "processor_movement_id" text;--> statement-breakpoint
-- Lines written before movement ids existed get theirs, once, by the same rule the code writes them
-- with: the only time the append-only trigger steps aside.
ALTER TABLE "invoice_adjustments" DISABLE TRIGGER invoice_adjustments_append_only;--> statement-breakpoint
UPDATE "invoice_adjustments" a SET "processor_movement_id" = CASE a."kind"
    WHEN 'CAPTURE' THEN a."processor_object_id" || ':captured:' || t."running_total"
    WHEN 'REFUND' THEN a."processor_object_id"
    ELSE a."processor_object_id" || ':failed' END
  FROM (SELECT "id", sum("amount") FILTER (WHERE "kind" = 'CAPTURE') OVER (PARTITION BY "invoice_id" ORDER BY "created_at", "id") AS "running_total" FROM "invoice_adjustments") t
  WHERE t."id" = a."id" AND a."processor_object_id" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "invoice_adjustments" ENABLE TRIGGER invoice_adjustments_append_only;--> statement-breakpoint
ALTER TABLE "reconciliation_mismatches" ADD COLUMN "reason" text;--> statement-breakpoint
ALTER TABLE "reconciliation_mismatches" ADD COLUMN "resolved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "reconciliation_runs" ADD COLUMN "payments_repaired" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reconciliation_runs" ADD COLUMN "processor_calls" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD CONSTRAINT "payment_attempts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reconciliation_mismatches_open_idx" ON "reconciliation_mismatches" USING btree ("invoice_id") WHERE "reconciliation_mismatches"."resolved_at" IS NULL;--> statement-breakpoint
UPDATE "reconciliation_runs" SET "status" = 'FAILED', "error" = 'abandoned (found running when runs became one at a time)', "finished_at" = now() WHERE "status" = 'RUNNING';--> statement-breakpoint
CREATE UNIQUE INDEX "reconciliation_runs_one_running" ON "reconciliation_runs" USING btree ("status") WHERE "reconciliation_runs"."status" = 'RUNNING';--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD CONSTRAINT "payment_attempts_workspace_key_unique" UNIQUE("workspace_id","idempotency_key");--> statement-breakpoint
ALTER TABLE "invoice_adjustments" ADD CONSTRAINT "invoice_adjustments_movement_unique" UNIQUE("invoice_id","processor_movement_id");