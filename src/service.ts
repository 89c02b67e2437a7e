import { once } from 'node:events';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type PgBoss from 'pg-boss';
import type { Config } from './config.js';
import { connectDatabase, type Database } from './db/client.js';
import { connectHealthCheck, type HealthConnection } from './db/health-connection.js';
import { watchPool } from './db/pool-watch.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { migrateDatabase } from './db/migrate.js';
import { authenticateToken, createApiToken } from './domain/auth/tokens.js';
import type { Deps } from './domain/deps.js';
import { isDatabaseEmpty, seedDemoData } from './domain/seed/demo-seed.js';
import { createApolloServer } from './graphql/apollo.js';
import { buildGraphQLSchema } from './graphql/schema.js';
import { createAdmission } from './http/admission.js';
import { createHttpListener, createOperationsApp } from './http/app.js';
import type { Liveness, ReadinessCheck } from './http/health.js';
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
      notice: (message) => logger.warn(message),
    });
    url = embedded.url;
    logger.info({ dataDir: path.resolve(config.dataDir), clusterDir: embedded.clusterDir, port: config.embeddedPostgresPort }, 'embedded postgres started');
  }
  const database = connectDatabase(url, {
    max: config.dbPoolSize,
    prepare: config.dbPreparedStatements,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    lockTimeoutMs: config.dbLockTimeoutMs,
  });
  return { database, url, embedded };
}

/**
 * `signal` (aborted by SIGINT/SIGTERM) is checked between the start-up steps: once it is aborted, what
 * has started is stopped in order and the call rejects with the signal's reason (ShutdownRequested).
 */
export async function startService(config: Config, logger: Logger, role: Role, signal?: AbortSignal): Promise<RunningService> {
  const { database, url: databaseUrl, embedded } = await openDatabase(config, logger);
  const stopSteps: { name: string; run: () => Promise<void> }[] = [];
  let stopping: Promise<void> | undefined;
  // Last started, first stopped: HTTP server, pg-boss, gateway, database pool, embedded Postgres.
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

  const step = () => signal?.throwIfAborted();

  try {
    step();
    await migrateDatabase(database.db);
    step();
    // Before pg-boss, so that it stops after the workers that call it.
    const gateway = await createGateway(config.gateway, { databaseUrl, prepare: config.dbPreparedStatements });
    stopSteps.push({ name: 'gateway', run: gateway.close });
    const boss = await startBoss(databaseUrl, logger, { supervise: works(role), schedule: works(role) }, config);
    stopSteps.push({ name: 'pg-boss', run: () => stopBoss(boss) });
    const deps: Deps = {
      db: database.db,
      config,
      logger,
      gateway: gateway.client,
      jobs: createJobQueue(boss),
      metrics: new PrometheusMetrics({ db: database.db, logger }),
      notifier: createHttpNotifier({ url: config.notificationUrl, secret: config.notificationSecret, logger }),
    };
    if (config.demoSeed && serves(role) && (await isDatabaseEmpty(database.db))) {
      const seeded = await seedDemoData(database.db);
      logger.info(seeded, 'demo data seeded into the empty database');
    }
    step();
    if (works(role)) await startWorkers(boss, deps);
    step();

    const devOperatorToken = config.devOperatorToken && serves(role) ? await ensureDevOperatorToken(deps, config.dataDir) : undefined;
    step();
    let url: string | undefined;
    if (role !== 'command') {
      const health = connectHealthCheck(databaseUrl);
      const server = await listen({
        config,
        deps,
        database,
        health,
        boss,
        logger,
        withApi: serves(role),
        stopping: () => stopping !== undefined,
        // The dashboard and the IDE offer the development token only on the embedded database.
        devOperatorToken: embedded ? devOperatorToken : undefined,
      }).catch(
        async (error: unknown) => {
          await health.close();
          throw error;
        },
      );
      // The health connection goes with the server it answers for.
      stopSteps.push({ name: 'http server', run: () => closeServer(server).finally(health.close) });
      const { port } = server.address() as AddressInfo;
      url = config.publicUrl ?? `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
    }
    step();
    return { url, databaseUrl, devOperatorToken, deps, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

type ListenOptions = {
  config: Config;
  deps: Deps;
  database: Database;
  health: HealthConnection;
  boss: PgBoss;
  logger: Logger;
  withApi: boolean;
  stopping: () => boolean;
  devOperatorToken: string | undefined;
};

/** The API (GraphQL, REST, webhooks) when `withApi`; health and metrics in every role that listens. */
async function listen({ config, deps, database, health, boss, logger, withApi, stopping, devOperatorToken }: ListenOptions): Promise<Server> {
  const admission = withApi ? createAdmission(config.httpMaxInFlight) : undefined;
  const readiness: Record<string, ReadinessCheck> = {
    // Its own connection: a busy pool is not a database that is down.
    database: () => health.ping(2000),
    jobs: async () => {
      await boss.getDb().executeSql('SELECT 1', []);
    },
    ...(admission && {
      admission: () => {
        if (admission.saturated()) throw new Error(`${admission.limit} requests in flight`);
      },
    }),
    serving: () => {
      if (stopping()) throw new Error('shutting down');
    },
  };
  const pool = watchPool(() => database.sql`SELECT 1`);
  const liveness: Liveness = {
    async failure() {
      const stalledMs = pool.stalledForMs();
      if (stalledMs < config.healthPoolStallSeconds * 1000) return undefined;
      // A pool that cannot reach a dead database is not wedged: readiness says so, and a restart would not help.
      const databaseAnswers = await health.ping(2000).then(() => true, () => false);
      return databaseAnswers ? `the database pool has handed out no connection for ${Math.round(stalledMs / 1000)} s` : undefined;
    },
  };
  const apollo = withApi ? createApolloServer(await buildGraphQLSchema(), config, logger) : undefined;
  await apollo?.start();
  const listener = apollo && admission ? createHttpListener({ deps, apollo, readiness, liveness, admission, devOperatorToken }) : createOperationsApp({ deps, readiness, liveness });
  const server = http.createServer(listener).listen(config.port, config.host);
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
