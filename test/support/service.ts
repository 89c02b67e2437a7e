import { loadConfig } from '../../src/config.js';
import { verifyLedger } from '../../src/domain/ledger/verify-ledger.js';
import { createLogger } from '../../src/logger.js';
import { startService, type Role, type RunningService } from '../../src/service.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export type TestService = RunningService & { url: string; database: TestDatabase; close(): Promise<void> };

/**
 * The real service (HTTP, GraphQL, pg-boss) on a fresh test database and a free port.
 * `environment` takes the same variables as production, e.g. `{ BILLING_ROLLOUT_STAGE: 'GENERAL' }`;
 * `role: 'api'` runs no workers, so a test can run them in another process.
 */
export async function startTestService(environment: Record<string, string> = {}, role: Role = 'start'): Promise<TestService> {
  const database = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: database.url,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DEV_OPERATOR_TOKEN: 'false',
    DEMO_SEED: 'false',
    // Once a year: no scheduled run fires in the middle of a test (tests that want one say so).
    RECONCILIATION_CRON: '0 3 1 1 *',
    ...environment,
  });
  const service = await startService(config, createLogger(config.logLevel), role);
  return {
    ...service,
    url: service.url!,
    database,
    /** Also checks the ledger's invariants one last time: no test file may leave money unexplained. */
    async close() {
      const violations = await verifyLedger(service.deps.db).catch(() => []);
      await service.stop();
      await database.drop();
      if (violations.length > 0) throw new Error(`ledger invariants broken at the end of the file:\n${JSON.stringify(violations, null, 2)}`);
    },
  };
}
