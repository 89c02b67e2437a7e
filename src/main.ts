#!/usr/bin/env node
import './production-mode.js';
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config.js';
import { EmbeddedPostgresError } from './db/embedded.js';
import { migrateDatabase } from './db/migrate.js';
import { TOKEN_ROLES, type TokenRole } from './db/schema/index.js';
import { listApiTokens, revokeApiToken, type TokenListing } from './domain/auth/manage-tokens.js';
import { expiryFromLifetime } from './domain/auth/token-lifetime.js';
import { createApiToken } from './domain/auth/tokens.js';
import { SyntheticGateway } from './adapters/synthetic/synthetic-gateway.js';
import { verifyAgainstProcessor } from './domain/ledger/verify-against-processor.js';
import { verifyLedger, type LedgerViolation } from './domain/ledger/verify-ledger.js';
import { runReconciliation } from './domain/reconciliation/reconcile.js';
import { seedDemoData } from './domain/seed/demo-seed.js';
import { isDomainError } from './errors.js';
import { buildGraphQLSchema, printGraphQLSchema } from './graphql/schema.js';
import { createLogger, logDestination, type Logger } from './logger.js';
import { projectRoot } from './paths.js';
import { openDatabase, startService, type Role } from './service.js';
import { listenForShutdown, ShutdownRequested } from './shutdown.js';

const TOKEN_USAGE = `  token create --role operator|service [--workspace ID] [--name NAME] [--expires-in 30d]
                            create a bearer token and print it once (lifetime in s, m, h or d)
  token list [--all]        the tokens that still authenticate (--all: revoked and expired too)
  token revoke ID           revoke a token at once`;

const USAGE = `Usage: billing-ledger <command>

  start                     API and workers in one process (the default for \`npm start\`)
  api                       the HTTP API only
  worker                    the background workers and the hourly schedule only
  migrate                   apply database migrations
  seed                      write the demo workspaces and invoices (idempotent)
${TOKEN_USAGE}
  reconcile [--full]        run one reconciliation now and print the run
  ledger verify             check the ledger's invariants (and, on the synthetic gateway, ledger = processor); exits 1 listing violations
  emit-schema               write schema.graphql from the code

With no DATABASE_URL, an embedded Postgres is started with its data under DATA_DIR (.data/).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'emit-schema') {
    const file = path.join(projectRoot(), 'schema.graphql');
    await writeFile(file, printGraphQLSchema(await buildGraphQLSchema()));
    console.log(`wrote ${file}`);
    return 0;
  }
  const config = loadConfig();
  const development = config.databaseUrl === undefined;
  const logger = createLogger(config.logLevel, logDestination(config.logFormat, development, process.stdout.isTTY === true));
  switch (command) {
    case 'start':
    case 'api':
    case 'worker':
      return serve(config, logger, command);
    case 'migrate':
      return withDatabase(config, logger, async (db) => {
        await migrateDatabase(db);
        console.log('migrations applied');
      });
    case 'seed':
      return withDatabase(config, logger, async (db) => {
        await migrateDatabase(db);
        const result = await seedDemoData(db);
        console.log(`seeded ${result.workspaces} workspaces and ${result.invoices} invoices`);
      });
    case 'token':
      return tokenCommand(config, logger, rest);
    case 'ledger':
      return verifyLedgerCommand(config, logger, rest);
    case 'reconcile':
      return reconcileCommand(config, logger, rest);
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

async function serve(config: Config, logger: Logger, role: Role): Promise<number> {
  const shutdown = listenForShutdown(logger);
  let service;
  try {
    service = await startService(config, logger, role, shutdown.signal);
  } catch (error) {
    // A signal during start-up: what had started is stopped already, in order.
    if (error instanceof ShutdownRequested) {
      logger.info('stopped');
      return 0;
    }
    throw error;
  }
  const lines = [`billing-ledger (${role}) is running`];
  if (service.url && role !== 'worker') lines.push(`  GraphQL API and IDE  ${service.url}/graphql`, `  billing center      ${service.url}/dashboard`);
  if (service.url) {
    lines.push(`  health              ${service.url}/healthz  ${service.url}/readyz`, `  metrics             ${service.url}/metrics`);
  }
  if (service.devOperatorToken) lines.push(`  operator token      ${service.devOperatorToken}`, `  (development only: kept in ${path.resolve(config.dataDir, 'dev-operator-token')})`);
  console.log(lines.join('\n'));

  await shutdown.requested;
  await service.stop();
  logger.info('stopped');
  return 0;
}

async function withDatabase(
  config: Config,
  logger: Logger,
  work: (db: Awaited<ReturnType<typeof openDatabase>>['database']['db']) => Promise<void>,
): Promise<number> {
  // A signal now waits for the (short) command and the embedded Postgres to stop, instead of orphaning it.
  listenForShutdown(logger);
  const { database, embedded } = await openDatabase(config, logger);
  try {
    await work(database.db);
    return 0;
  } finally {
    await database.close();
    await embedded?.stop();
  }
}

async function reconcileCommand(config: Config, logger: Logger, args: string[]): Promise<number> {
  const service = await startService(config, logger, 'command', listenForShutdown(logger).signal);
  try {
    const run = await runReconciliation(service.deps, { trigger: 'COMMAND', full: args.includes('--full') });
    console.log(JSON.stringify(run, null, 2));
    return run.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await service.stop();
  }
}

async function verifyLedgerCommand(config: Config, logger: Logger, args: string[]): Promise<number> {
  if (args[0] !== 'verify') {
    console.error('Usage: billing-ledger ledger verify');
    return 2;
  }
  const service = await startService(config, logger, 'command', listenForShutdown(logger).signal);
  let violations: LedgerViolation[];
  try {
    violations = await verifyLedger(service.deps.db);
    // The synthetic processor can be read whole: the ledger must equal it, payment by payment.
    const { gateway } = service.deps;
    if (gateway instanceof SyntheticGateway) violations.push(...(await verifyAgainstProcessor(service.deps.db, await gateway.paymentTotals())));
  } finally {
    await service.stop();
  }
  for (const violation of violations) console.log(`${violation.invoiceId}  ${violation.rule}: ${violation.detail}`);
  console.log(violations.length === 0 ? 'ledger verified: every invariant holds' : `${violations.length} violation(s)`);
  return violations.length === 0 ? 0 : 1;
}

async function tokenCommand(config: Config, logger: Logger, args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      workspace: { type: 'string' },
      name: { type: 'string' },
      'expires-in': { type: 'string' },
      all: { type: 'boolean' },
    },
  });
  const [action, id] = positionals;
  const role = values.role?.toUpperCase();
  if (action === 'list') {
    return withDatabase(config, logger, async (db) => {
      await migrateDatabase(db);
      printTokens(await listApiTokens(db, { includeInactive: values.all }));
    });
  }
  if (action === 'revoke' && id) {
    return withDatabase(config, logger, async (db) => {
      await migrateDatabase(db);
      const token = await revokeApiToken(db, id);
      console.log(`revoked token ${token.id} (${token.tokenPrefix}…) at ${token.revokedAt!.toISOString()}`);
    });
  }
  if (action !== 'create' || !TOKEN_ROLES.includes(role as TokenRole)) {
    console.error(`Usage:\n${TOKEN_USAGE}`);
    return 2;
  }
  const expiresAt = values['expires-in'] ? expiryFromLifetime(values['expires-in']) : undefined;
  return withDatabase(config, logger, async (db) => {
    await migrateDatabase(db);
    const { token, record } = await createApiToken(db, {
      name: values.name ?? `${role!.toLowerCase()} token`,
      role: role as TokenRole,
      workspaceId: values.workspace,
      expiresAt,
    });
    const scope = record.workspaceId ? ` for workspace ${record.workspaceId}` : '';
    const expiry = record.expiresAt ? `, expires ${record.expiresAt.toISOString()}` : '';
    console.log(`created ${record.role.toLowerCase()} token ${record.id}${scope}${expiry}`);
    console.log(token);
  });
}

/** One line per token: never its secret or hash, only the prefix that recognises it. */
function printTokens(tokens: TokenListing[]): void {
  const time = (date: Date | null) => date?.toISOString() ?? '-';
  for (const t of tokens) {
    console.log([t.id, `${t.tokenPrefix}…`, t.state.toLowerCase(), t.role.toLowerCase(), t.workspaceId ?? '-', `created ${time(t.createdAt)}`, `last used ${time(t.lastUsedAt)}`, `expires ${time(t.expiresAt)}`, JSON.stringify(t.name)].join('  '));
  }
  console.log(`${tokens.length} token(s)`);
}

/** Every failure ends with a message a person can act on: never a bare `undefined`. */
function reportFailure(error: unknown): void {
  if (error instanceof ConfigError || error instanceof EmbeddedPostgresError || error instanceof ShutdownRequested || isDomainError(error)) {
    console.error(error.message);
  } else if (error instanceof Error) {
    console.error(error.stack ?? `${error.name}: ${error.message}`);
  } else {
    console.error(`billing-ledger stopped on a failure that carries no message (${String(error)}); run with LOG_LEVEL=debug for more`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    reportFailure(error);
    process.exitCode = 1;
  },
);
