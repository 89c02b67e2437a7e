import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type RunningService } from '../../src/service.js';

/**
 * The service as a one-shot operator command runs it (`billing-ledger reconcile`): the composition root
 * in the `command` role on `databaseUrl` — migrations, pg-boss to enqueue, real Deps — with no HTTP server,
 * no workers and no pg-boss schedule. Use it instead of `startBenchService` when a benchmark drives a
 * domain function itself and a background job (e.g. the hourly reconciliation) must not run meanwhile.
 * Configured like `startBenchService` (silent logs, no demo data, no dev token, rollout GENERAL).
 */
export async function startBenchCommand(databaseUrl: string, environment: Record<string, string> = {}): Promise<RunningService> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    BILLING_GATEWAY: 'synthetic',
    LOG_LEVEL: 'silent',
    BILLING_ROLLOUT_STAGE: 'GENERAL',
    DEMO_SEED: 'false',
    DEV_OPERATOR_TOKEN: 'false',
    ...environment,
  });
  return startService(config, createLogger(config.logLevel), 'command');
}
