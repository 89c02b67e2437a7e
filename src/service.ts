import { once } from 'node:events';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type PgBoss from 'pg-boss';
import type { Config } from './config.js';
import { connectDatabase, type Database } from './db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { migrateDatabase } from './db/migrate.js';
import { authenticateToken, createApiToken } from './domain/auth/tokens.js';
import type { Deps } from './domain/deps.js';
import { isDatabaseEmpty, seedDemoData } from './domain/seed/demo-seed.js';
import { createApolloServer } from './graphql/apollo.js';
import { buildGraphQLSchema } from './graphql/schema.js';
import { createHttpApp, createOperationsApp } from './http/app.js';
import { createGateway } from './adapters/create-gateway.js';
import { PrometheusMetrics } from './adapters/metrics/prometheus-metrics.js';
import { createHttpNotifier } from './adapters/notifications/http-notifier.js';
import { createJobQueue, startBoss, stopBoss } from './jobs/boss.js';
import { startWorkers } from './jobs/workers.js';
import type { Logger } from './logger.js';

/**
 * The composition root shared by every role: config → Postgres → migrations → pg-boss → schema → HTTP.
 * `main.ts` parses the command line and calls this; tests call it too, to run the real thing.
 */

/** `command`: the deps of a one-shot operator command (database, pg-boss to enqueue), nothing served or worked. */
export type Role = 'start' | 'api' | 'worker' | 'command';

const serves = (role: Role) => role === 'start' || role === 'api';
const works = (role: Role) => role === 'start' || role === 'worker';

export type RunningService = {
  /** Base URL of the HTTP server (the API for `start`/`api`; health and metrics only for `worker`). */
  url: string | undefined;
  databaseUrl: string;
  devOperatorToken: string | undefined;
  deps: Deps;
  stop(): Promise<void>;
};

/** Opens the configured database, or starts the embedded one when no DATABASE_URL is given. */
export async function openDatabase(
  config: Config,
  logger: Logger,
): Promise<{ database: Database; url: string; embedded: EmbeddedDatabase | undefined }> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      database: 'billing_ledger',
      log: (line) => logger.debug({ postgres: line }, 'embedded postgres'),
    });
    url = embedded.url;
    logger.info({ dataDir: path.resolve(config.dataDir), port: config.embeddedPostgresPort }, 'embedded postgres started');
  }
  const database = connectDatabase(url, { max: config.dbPoolSize, prepare: config.dbPreparedStatements });
  return { database, url, embedded };
}

export async function startService(config: Config, logger: Logger, role: Role): Promise<RunningService> {
  const { database, url: databaseUrl, embedded } = await openDatabase(config, logger);
  const stopSteps: { name: string; run: () => Promise<void> }[] = [];
  let stopping: Promise<void> | undefined;
  // Last started, first stopped: HTTP server, pg-boss, database pool, embedded Postgres.
  const stopAll = () =>
    (stopping ??= (async () => {
      for (const step of [...stopSteps].reverse()) {
        try {
          await step.run();
          logger.info(`${step.name} stopped`);
        } catch (error) {
          logger.error({ err: error }, `${step.name} did not stop cleanly`);
        }
      }
    })());
  if (embedded) stopSteps.push({ name: 'embedded postgres', run: embedded.stop });
  stopSteps.push({ name: 'database pool', run: database.close });

  try {
    await migrateDatabase(database.db);
    const boss = await startBoss(databaseUrl, logger, { supervise: works(role), schedule: works(role) });
    stopSteps.push({ name: 'pg-boss', run: () => stopBoss(boss) });
    const deps: Deps = {
      db: database.db,
      config,
      logger,
      gateway: createGateway(config.gateway),
      jobs: createJobQueue(boss),
      metrics: new PrometheusMetrics({ db: database.db, logger }),
      notifier: createHttpNotifier({ url: config.notificationUrl, secret: config.notificationSecret, logger }),
    };
    if (config.demoSeed && serves(role) && (await isDatabaseEmpty(database.db))) {
      const seeded = await seedDemoData(database.db);
      logger.info(seeded, 'demo data seeded into the empty database');
    }
    if (works(role)) await startWorkers(boss, deps);

    const devOperatorToken = config.devOperatorToken && serves(role) ? await ensureDevOperatorToken(deps, config.dataDir) : undefined;
    let url: string | undefined;
    if (role !== 'command') {
      // The dashboard and the IDE offer the development token only on the embedded database.
      const offered = embedded ? devOperatorToken : undefined;
      const server = await listen(config, deps, database, boss, logger, serves(role), offered);
      stopSteps.push({ name: 'http server', run: () => closeServer(server) });
      const { port } = server.address() as AddressInfo;
      url = config.publicUrl ?? `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
    }
    return { url, databaseUrl, devOperatorToken, deps, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The API (GraphQL, REST, webhooks) when `withApi`; health and metrics in every role that listens. */
async function listen(
  config: Config,
  deps: Deps,
  database: Database,
  boss: PgBoss,
  logger: Logger,
  withApi: boolean,
  devOperatorToken: string | undefined,
): Promise<Server> {
  const readiness = {
    database: async () => {
      await database.sql`SELECT 1`;
    },
    jobs: async () => {
      await boss.getDb().executeSql('SELECT 1', []);
    },
  };
  const apollo = withApi ? createApolloServer(await buildGraphQLSchema(), config, logger) : undefined;
  await apollo?.start();
  const app = apollo ? createHttpApp({ deps, apollo, readiness, devOperatorToken }) : createOperationsApp({ deps, readiness });
  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  server.on('close', () => void apollo?.stop());
  return server;
}

/** Stops accepting connections, lets in-flight requests finish (10 s at most), then closes the rest. */
async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), 10_000);
  try {
    await closed;
  } finally {
    clearTimeout(force);
  }
}

/**
 * A development convenience: one operator token kept in `<dataDir>/dev-operator-token` (tokens are
 * stored hashed, so the file is the only place it can be read again) and reused across restarts.
 */
async function ensureDevOperatorToken(deps: Deps, dataDir: string): Promise<string> {
  const file = path.resolve(dataDir, 'dev-operator-token');
  const existing = await readFile(file, 'utf8').then((text) => text.trim(), () => undefined);
  if (existing && (await authenticateToken(deps.db, existing))?.role === 'OPERATOR') return existing;
  const { token } = await createApiToken(deps.db, { name: 'development operator', role: 'OPERATOR' });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, token + '\n', { mode: 0o600 });
  return token;
}
