-- The ledger and the timeline are append-only: history is corrected by new lines, never rewritten.
CREATE FUNCTION billing_forbid_history_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$;--> statement-breakpoint
CREATE TRIGGER invoice_adjustments_append_only
  BEFORE UPDATE OR DELETE ON invoice_adjustments
  FOR EACH ROW EXECUTE FUNCTION billing_forbid_history_rewrite();--> statement-breakpoint
CREATE TRIGGER invoice_timeline_events_append_only
  BEFORE UPDATE OR DELETE ON invoice_timeline_events
  FOR EACH ROW EXECUTE FUNCTION billing_forbid_history_rewrite();
