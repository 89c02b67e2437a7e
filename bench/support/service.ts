import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type RunningService } from '../../src/service.js';

/**
 * The real service (HTTP, GraphQL, pg-boss and its workers) on `databaseUrl`, on a free port of 127.0.0.1,
 * configured like production except for what a benchmark must not do (logs, demo data, dev token).
 * Role `api`: the HTTP API without the background workers, whose polling would land on whichever phase
 * happens to run while they work.
 */
export async function startBenchService(
  databaseUrl: string,
  environment: Record<string, string> = {},
  role: 'start' | 'api' = 'start',
): Promise<RunningService & { url: string }> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    BILLING_GATEWAY: 'synthetic',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    BILLING_ROLLOUT_STAGE: 'GENERAL',
    DEMO_SEED: 'false',
    DEV_OPERATOR_TOKEN: 'false',
    ...environment,
  });
  const service = await startService(config, createLogger(config.logLevel), role);
  if (!service.url) throw new Error('the service did not start an HTTP server');
  return { ...service, url: service.url };
}
