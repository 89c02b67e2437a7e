import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config.js';
import { dropDatabase, ensureDatabase, withDatabase } from '../../src/db/admin.js';
import { connectDatabase } from '../../src/db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { startBoss } from '../../src/jobs/boss.js';
import { createLogger } from '../../src/logger.js';
import { freePort } from './ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
  }
}

/**
 * One real Postgres for the whole run (embedded, or TEST_DATABASE_URL's server), one migrated template
 * database with pg-boss's schema installed, and every test file gets its own copy (test/support/database.ts).
 */
export default async function setup(project: TestProject) {
  let embedded: EmbeddedDatabase | undefined;
  let dataDir: string | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'billing-ledger-test-'));
    await chmod(dataDir, 0o755); // as root, Postgres runs as the `postgres` user and must reach its folder
    embedded = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'postgres' });
    adminUrl = embedded.adminUrl;
  }
  const templateDatabase = `billing_template_${process.pid}`;
  await dropDatabase(adminUrl, templateDatabase);
  await ensureDatabase(adminUrl, templateDatabase);
  const templateUrl = withDatabase(adminUrl, templateDatabase);
  const template = connectDatabase(templateUrl, { max: 1 });
  await migrateDatabase(template.db);
  await template.close();
  const boss = await startBoss(templateUrl, createLogger('silent'), { supervise: false, schedule: false }, loadConfig({}));
  await boss.stop({ graceful: false, wait: true });

  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);

  return async () => {
    await dropDatabase(adminUrl, templateDatabase);
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  };
}
