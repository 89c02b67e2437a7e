import type { AttemptKind, PaymentAttempt, ReconciliationRun } from '../../db/schema/index.js';

/**
 * What the domain reports as it happens, after its transaction commits. The Prometheus adapter
 * (src/adapters/metrics) turns these into the metrics that docs/metrics.md lists.
 */

export type PaymentOutcome = 'succeeded' | 'declined' | 'unknown';

/** Money that entered the ledger, or a gateway answer that did not move any. */
export type PaymentMovement = {
  /** REFUND_REVERSAL: a recorded refund the processor reported failed, given back (always `succeeded`). */
  kind: AttemptKind | 'REFUND_REVERSAL';
  currency: string;
  outcome: PaymentOutcome;
  /** Minor units; counted only for `succeeded`. */
  amount: number;
  /** Refunds only. */
  reason?: string | null;
};

export type ProcessorEventOutcome = 'processed' | 'ignored' | 'queued' | 'duplicate' | 'parked';
export type ReplayAttemptOutcome = 'replayed' | 'failed' | 'skipped';
export type ReconciliationRunCounts = Pick<
  ReconciliationRun,
  'trigger' | 'status' | 'attemptsSettled' | 'timelineEventsBackfilled' | 'settlementsBackfilled' | 'mismatchesFound'
>;

export interface Metrics {
  recordPayment(movement: PaymentMovement): void;
  /** An attempt that has just ended declined or unknown (the money of succeeded ones is counted by recordPayment). */
  recordAttempt(attempt: PaymentAttempt): void;
  recordProcessorEvent(provider: string, type: string, outcome: ProcessorEventOutcome): void;
  recordReplayAttempt(outcome: ReplayAttemptOutcome): void;
  recordReconciliationRun(run: ReconciliationRunCounts): void;
  observeHttpRequest(request: { method: string; route: string; status: number; seconds: number }): void;
  /** The scrape, in Prometheus's text format, and its content type. */
  render(): Promise<string>;
  readonly contentType: string;
}
