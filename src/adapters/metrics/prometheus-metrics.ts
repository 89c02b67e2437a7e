import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../../db/client.js';
import type { PaymentAttempt } from '../../db/schema/index.js';
import type { Logger } from '../../logger.js';
import { REFUND_REASONS } from '../../domain/gateway/billing-gateway-client.js';
import { readDatabaseGauges, type DatabaseGauges } from '../../domain/metrics/database-gauges.js';
import type { Metrics, PaymentMovement, PaymentOutcome, ProcessorEventOutcome, ReconciliationRunCounts, ReplayAttemptOutcome } from '../../domain/metrics/metrics.js';

/**
 * The service's Prometheus metrics (docs/metrics.md lists them). Counters are written by the domain
 * where an outcome becomes known, after its transaction commits; gauges about shared state are read
 * from Postgres when scraped. One registry per running service: tests run several in one process.
 */

const REPLAY_OUTCOMES: readonly ReplayAttemptOutcome[] = ['replayed', 'failed', 'skipped'];
const FIX_KINDS = ['attempts_settled', 'timeline_backfilled', 'settlements_backfilled'] as const;
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export type MetricsOptions = {
  db: Db;
  logger: Logger;
  /** Node's process metrics (CPU, memory, event loop, GC); on unless a test turns them off. */
  defaultMetrics?: boolean;
};

export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();

  private readonly captures: Counter<'currency' | 'outcome'>;
  private readonly captureAmount: Counter<'currency'>;
  private readonly refunds: Counter<'currency' | 'outcome' | 'reason'>;
  private readonly refundAmount: Counter<'currency' | 'reason'>;
  private readonly refundReversals: Counter<'currency' | 'reason'>;
  private readonly refundReversalAmount: Counter<'currency' | 'reason'>;
  private readonly processorEvents: Counter<'provider' | 'type' | 'outcome'>;
  private readonly replayAttempts: Counter<'outcome'>;
  private readonly reconciliationRuns: Counter<'trigger' | 'status'>;
  private readonly reconciliationFixes: Counter<'kind'>;
  private readonly reconciliationMismatches: Counter;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly databaseGauges: () => Promise<DatabaseGauges | undefined>;

  constructor({ db, logger, defaultMetrics = true }: MetricsOptions) {
    const registers = [this.registry];
    this.captures = new Counter({
      name: 'billing_captures_total',
      help: 'Capture outcomes: succeeded (money entered the ledger, from any source), declined, unknown (no answer from the gateway).',
      labelNames: ['currency', 'outcome'],
      registers,
    });
    this.captureAmount = new Counter({
      name: 'billing_capture_amount_minor_total',
      help: "Captured money entered in the ledger, in the currency's minor unit.",
      labelNames: ['currency'],
      registers,
    });
    this.refunds = new Counter({
      name: 'billing_refunds_total',
      help: 'Refund outcomes by reason code: succeeded (money left the ledger, from any source), declined, unknown.',
      labelNames: ['currency', 'outcome', 'reason'],
      registers,
    });
    this.refundAmount = new Counter({
      name: 'billing_refund_amount_minor_total',
      help: "Refunded money entered in the ledger, in the currency's minor unit.",
      labelNames: ['currency', 'reason'],
      registers,
    });
    this.refundReversals = new Counter({
      name: 'billing_refund_reversals_total',
      help: 'Recorded refunds the processor later reported failed, given back to the invoice by a reversal line.',
      labelNames: ['currency', 'reason'],
      registers,
    });
    this.refundReversalAmount = new Counter({
      name: 'billing_refund_reversal_amount_minor_total',
      help: "Refunded money given back by reversal lines, in the currency's minor unit.",
      labelNames: ['currency', 'reason'],
      registers,
    });
    this.processorEvents = new Counter({
      name: 'billing_processor_events_total',
      help: 'Webhook deliveries by what ingestion answered: processed, ignored, queued (for replay), duplicate.',
      labelNames: ['provider', 'type', 'outcome'],
      registers,
    });
    this.replayAttempts = new Counter({
      name: 'billing_replay_attempts_total',
      help: 'Replays of stored processor events: replayed (applied), failed (still queued), skipped (no longer requested).',
      labelNames: ['outcome'],
      registers,
    });
    this.reconciliationRuns = new Counter({
      name: 'billing_reconciliation_runs_total',
      help: 'Finished reconciliation runs by trigger and status.',
      labelNames: ['trigger', 'status'],
      registers,
    });
    this.reconciliationFixes = new Counter({
      name: 'billing_reconciliation_fixes_total',
      help: 'What reconciliation repaired: attempts_settled, timeline_backfilled, settlements_backfilled.',
      labelNames: ['kind'],
      registers,
    });
    this.reconciliationMismatches = new Counter({
      name: 'billing_reconciliation_mismatches_total',
      help: "Disagreements between the ledger and the processor's settlement records found by reconciliation.",
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern (never the raw URL) and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    // Series that exist from the start, so rate() sees their first increment.
    for (const outcome of REPLAY_OUTCOMES) this.replayAttempts.inc({ outcome }, 0);
    for (const kind of FIX_KINDS) this.reconciliationFixes.inc({ kind }, 0);

    this.databaseGauges = sharedPerScrape(async () => {
      try {
        return await readDatabaseGauges(db);
      } catch (error) {
        logger.warn({ err: error }, 'metrics: could not read the database gauges');
        return undefined;
      }
    });
    this.registerDatabaseGauges(registers);
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** A capture or refund outcome; `succeeded` also adds its amount. */
  recordPayment(movement: PaymentMovement): void {
    const currency = currencyLabel(movement.currency);
    if (movement.kind === 'CAPTURE') {
      this.captures.inc({ currency, outcome: movement.outcome });
      if (movement.outcome === 'succeeded') this.captureAmount.inc({ currency }, movement.amount);
      return;
    }
    const reason = reasonLabel(movement.reason);
    if (movement.kind === 'REFUND_REVERSAL') {
      this.refundReversals.inc({ currency, reason });
      this.refundReversalAmount.inc({ currency, reason }, movement.amount);
      return;
    }
    this.refunds.inc({ currency, outcome: movement.outcome, reason });
    if (movement.outcome === 'succeeded') this.refundAmount.inc({ currency, reason }, movement.amount);
  }

  /**
   * A payment attempt that has just ended declined or unknown. Succeeded ones count nothing here: the
   * money they moved is counted once, by `recordPayment`, when its ledger line is written.
   */
  recordAttempt(attempt: PaymentAttempt): void {
    const outcome = attemptOutcome(attempt);
    if (!outcome) return;
    this.recordPayment({ kind: attempt.kind, currency: attempt.currency, outcome, amount: attempt.amount, reason: attempt.reason });
  }

  recordProcessorEvent(provider: string, type: string, outcome: ProcessorEventOutcome): void {
    this.processorEvents.inc({ provider: nameLabel(provider), type: nameLabel(type), outcome });
  }

  recordReplayAttempt(outcome: ReplayAttemptOutcome): void {
    this.replayAttempts.inc({ outcome });
  }

  /** One call per finished run, with the run's counts as stored. */
  recordReconciliationRun(run: ReconciliationRunCounts): void {
    this.reconciliationRuns.inc({ trigger: run.trigger.toLowerCase(), status: run.status.toLowerCase() });
    this.reconciliationFixes.inc({ kind: 'attempts_settled' }, run.attemptsSettled);
    this.reconciliationFixes.inc({ kind: 'timeline_backfilled' }, run.timelineEventsBackfilled);
    this.reconciliationFixes.inc({ kind: 'settlements_backfilled' }, run.settlementsBackfilled);
    this.reconciliationMismatches.inc(run.mismatchesFound);
  }

  /** `route` is a pattern such as `/api/v1/billing/invoices/:invoiceId/capture`, never a raw path. */
  observeHttpRequest(request: { method: string; route: string; status: number; seconds: number }): void {
    const method = HTTP_METHODS.has(request.method) ? request.method : 'OTHER';
    this.httpDuration.observe({ method, route: request.route, status: String(request.status) }, request.seconds);
  }

  private registerDatabaseGauges(registers: Registry[]): void {
    const gauge = (name: string, help: string, read: (gauges: DatabaseGauges) => number) => {
      const load = this.databaseGauges;
      return new Gauge({
        name,
        help,
        registers,
        async collect() {
          // NaN, not a stale value, when the database could not be read: alerts do not fire on stale data.
          const gauges = await load();
          this.set(gauges ? read(gauges) : Number.NaN);
        },
      });
    };
    gauge('billing_replay_backlog', 'Processor events waiting for a replay (replay_requested), across all processes.', (g) => g.replayBacklog);
    gauge(
      'billing_replay_backlog_oldest_age_seconds',
      'Age of the oldest processor event waiting for a replay; 0 when none waits.',
      (g) => g.replayBacklogOldestAgeSeconds,
    );
    gauge(
      'billing_pending_payment_attempts',
      'Capture and refund attempts whose outcome is not known yet (PENDING or UNKNOWN).',
      (g) => g.pendingPaymentAttempts,
    );
    gauge(
      'billing_reconciliation_last_success_timestamp_seconds',
      'When the last successful reconciliation run finished (Unix seconds); 0 when none has.',
      (g) => g.reconciliationLastSuccessSeconds,
    );
    gauge(
      'billing_reconciliation_last_run_mismatches',
      'Mismatches the last successful reconciliation run found (each run reports those still unresolved).',
      (g) => g.reconciliationLastRunMismatches,
    );
    const load = this.databaseGauges;
    new Gauge({
      name: 'billing_metrics_database_up',
      help: 'Whether this scrape could read the database gauges (1) or not (0: they read NaN).',
      registers,
      async collect() {
        this.set((await load()) ? 1 : 0);
      },
    });
  }
}

/** The gauges are collected concurrently within a scrape: they share one database read. */
function sharedPerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => (inFlight ??= read().finally(() => (inFlight = undefined)));
}

function attemptOutcome(attempt: PaymentAttempt): PaymentOutcome | undefined {
  switch (attempt.status) {
    case 'FAILED':
      return 'declined';
    case 'UNKNOWN':
      return 'unknown';
    case 'SUCCEEDED':
    case 'PENDING':
      return undefined;
  }
}

// Label values come from bounded sets only: a label per distinct value is a time series per value.

function currencyLabel(currency: string): string {
  return /^[A-Z]{3}$/.test(currency) ? currency : 'OTHER';
}

function reasonLabel(reason: string | null | undefined): string {
  return reason && (REFUND_REASONS as readonly string[]).includes(reason) ? reason : 'OTHER';
}

/** Provider names and event types (`charge.refund.updated`): only from a signed delivery, and only name-shaped. */
function nameLabel(name: string): string {
  return name.length <= 64 && /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/.test(name) ? name : 'other';
}
