import type { LatencySummary } from '../support/stats.js';
import type { LoadResult } from '../support/http-load.js';
import type { PgbenchResult } from '../support/pgbench.js';
import type { PgbenchScript } from '../support/pgbench-script.js';
import type { StatementStats } from '../support/pg-stats.js';
import type { ProfileSummary } from '../support/profile.js';
import type { TracedStatement } from '../support/sql-trace.js';
import type { LedgerViolation } from '../../src/domain/ledger/verify-ledger.js';

/** The capture benchmark's scenarios, options, and what a run measures. */

export type ScenarioName = 'distinct' | 'hot';
export const SCENARIOS: Record<ScenarioName, { label: string; amountDue: number; amount: number | null }> = {
  // A whole invoice per request: the capture takes "all that remains" (amount omitted).
  distinct: { label: 'distinct invoices', amountDue: 10_000, amount: null },
  // 1 minor unit per request on an invoice that can take ~10^15 of them: never runs out, CHECKs hold.
  hot: { label: 'one hot invoice', amountDue: 1_000_000_000_000_000, amount: 1 },
};

export type Options = {
  clients: number[];
  seconds: number;
  warmup: number;
  maxRequests: number;
  scenarios: ScenarioName[];
  threads: number;
  pgbenchMode: 'prepared' | 'extended';
  dbPool: number | undefined;
  profile: boolean;
  printScript: boolean;
};

export type ServiceRow = {
  load: LoadResult;
  latency: LatencySummary;
  perSecond: number;
  loopBusy: number;
  cpuMsPerCapture: { node: number; postgres: number; mainThread: number; mainThreadWaiting: number };
  sql: StatementStats;
  /** CPU (in cores) used during the run by processes other than the bench's own: other work on the machine. */
  otherCores: number;
  hotInvoice?: string;
  hotAttempts?: number;
};
export type PgbenchRow = {
  result: PgbenchResult;
  cpuMsPerTx: { pgbench: number; postgres: number };
  sql: StatementStats;
  otherCores: number;
  hotInvoice?: string;
  hotAttempts?: number;
};
export type Traced = { script: PgbenchScript; trace: TracedStatement[] };

export type Report = {
  options: Options;
  pgVersion: string;
  pgbench: string;
  settings: { name: string; setting: string; unit: string | null }[];
  scripts: Record<ScenarioName, PgbenchScript>;
  traces: Record<ScenarioName, TracedStatement[]>;
  serviceRows: Map<string, ServiceRow>;
  pgbenchRows: Map<string, PgbenchRow>;
  profile: ProfileSummary | undefined;
  profiledCaptures: number;
  /** The main thread's milliseconds on a CPU and waiting for one, during the profiled run. */
  profiledThread: { onCpu: number; waiting: number };
  violations: LedgerViolation[];
  verifyMs: number;
  notifications: { total: number; completed: number; seconds: number };
  explained: { who: string; when: string; attempts: number; plan: string }[];
  counts: { invoices: string; adjustments: string; attempts: string };
  loadBefore: number[];
  loadAfter: number[];
  seconds: number;
};

