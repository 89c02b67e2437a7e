import { z } from 'zod';

/**
 * The only reader of the environment. Everything else receives a frozen Config.
 * A bad value stops start-up with a message naming the variable (see `ConfigError`).
 */

const rolloutStages = ['OFF', 'PILOT', 'GENERAL'] as const;
export type RolloutStage = (typeof rolloutStages)[number];
export const ROLLOUT_STAGES: readonly RolloutStage[] = rolloutStages;

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .optional()
  .transform((value) => (value === undefined ? undefined : ['true', '1', 'yes'].includes(value)));

const port = z.coerce.number().int().min(0).max(65535);

const environmentSchema = z.object({
  DATABASE_URL: optionalString.pipe(z.url().optional()),
  DATA_DIR: z.string().default('.data'),
  EMBEDDED_PG_PORT: port.default(54329),
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(4000),
  PUBLIC_URL: optionalString.pipe(z.url().optional()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  BILLING_ROLLOUT_STAGE: z.enum(rolloutStages).default('PILOT'),
  BILLING_GATEWAY: z.enum(['synthetic', 'stripe']).optional(),
  GATEWAY_TIMEOUT_MS: z.coerce.number().int().min(1000).max(120_000).default(20_000),
  // Stripe keeps idempotency keys about 24 hours: re-sending is safe only well inside that.
  GATEWAY_RESEND_WINDOW_SECONDS: z.coerce.number().int().min(0).max(12 * 3600).default(3600),
  SYNTHETIC_SETTLEMENT_DELAY_MS: z.coerce.number().int().min(0).default(0),
  STRIPE_SECRET_KEY: optionalString,
  STRIPE_WEBHOOK_SECRET: optionalString,
  STRIPE_API_HOST: optionalString,
  STRIPE_API_PORT: port.optional(),
  STRIPE_API_PROTOCOL: z.enum(['http', 'https']).default('https'),
  REPLAY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  REPLAY_JOB_EXPIRE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  JOB_MAINTENANCE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  RECONCILIATION_CRON: z
    .string()
    .regex(/^\S+( \S+){4,5}$/, 'expected a cron expression with 5 or 6 fields')
    .default('0 * * * *'),
  RECONCILIATION_LOOKUPS_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(4),
  PENDING_ATTEMPT_GRACE_SECONDS: z.coerce.number().int().min(0).default(300),
  NOTIFICATION_URL: optionalString.pipe(z.url().optional()),
  NOTIFICATION_SECRET: optionalString,
  DEV_OPERATOR_TOKEN: booleanFlag,
  DEMO_SEED: booleanFlag,
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DB_PREPARED_STATEMENTS: booleanFlag,
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  DB_LOCK_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(5_000),
  HTTP_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(64),
  HEALTH_POOL_STALL_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(8),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(10).default(5000),
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  METRICS_TOKEN: optionalString,
});

export type Config = Readonly<{
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPostgresPort: number;
  host: string;
  port: number;
  publicUrl: string | undefined;
  logLevel: z.infer<typeof environmentSchema>['LOG_LEVEL'];
  /** `auto`: readable lines when standard output is a terminal in development (no DATABASE_URL), JSON lines otherwise. */
  logFormat: z.infer<typeof environmentSchema>['LOG_FORMAT'];
  rolloutStage: RolloutStage;
  gateway: Readonly<{
    kind: 'synthetic' | 'stripe';
    syntheticSettlementDelayMs: number;
    stripeSecretKey: string | undefined;
    stripeApiHost: string | undefined;
    stripeApiPort: number | undefined;
    stripeApiProtocol: 'http' | 'https';
    /** Per processor call; past it the outcome is unknown and the attempt is settled by asking. */
    timeoutMs: number;
  }>;
  gatewayTimeoutMs: number;
  /** How long after its first send a money-moving request may be sent again with its key; after it, only looked up. */
  gatewayResendWindowSeconds: number;
  /** Every secret accepted for webhook signatures: more than one during a secret rotation. */
  stripeWebhookSecrets: readonly string[];
  replayMaxAttempts: number;
  /** How long a replay job may run before pg-boss takes it for abandoned (its worker died) and retries it. */
  replayJobExpireSeconds: number;
  /** How often pg-boss looks for expired jobs (and archives old ones), across all processes. */
  jobMaintenanceIntervalSeconds: number;
  reconciliationCron: string;
  /** Processor lookups a reconciliation run keeps in flight at once (1: one after another). */
  reconciliationLookupsInFlight: number;
  pendingAttemptGraceSeconds: number;
  notificationUrl: string | undefined;
  notificationSecret: string | undefined;
  /** Mint and print an operator token at start-up; on by default only with the embedded Postgres. */
  devOperatorToken: boolean;
  /** Write the demo workspaces when `start`/`api` finds the database empty; on by default only with the embedded Postgres. */
  demoSeed: boolean;
  dbPoolSize: number;
  /** Keep statements prepared per connection; off behind a transaction-mode connection pooler. */
  dbPreparedStatements: boolean;
  /** Per statement and per lock wait on the service's pool (0: no limit). */
  dbStatementTimeoutMs: number;
  dbLockTimeoutMs: number;
  /** Requests served at once by one process (health and metrics aside); beyond it a fast 503. */
  httpMaxInFlight: number;
  /** /healthz fails once the pool has given no connection for this long while Postgres answers. */
  healthPoolStallSeconds: number;
  graphqlMaxDepth: number;
  graphqlMaxCost: number;
  /** How long a process trusts a token it has checked (GraphQL and REST requests); 0: every request reads it. */
  authCacheTtlMs: number;
  /** When set, GET /metrics wants `Authorization: Bearer <it>`; open otherwise (a private scrape port). */
  metricsToken: string | undefined;
}>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(environment: Record<string, string | undefined> = process.env): Config {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const env = parsed.data;
  // Outside development (a real database) nobody should move money through a gateway they did not name.
  if (env.DATABASE_URL !== undefined && env.BILLING_GATEWAY === undefined) {
    throw new ConfigError('Invalid configuration:\n  BILLING_GATEWAY: required when DATABASE_URL is set (synthetic or stripe)');
  }
  const gateway = env.BILLING_GATEWAY ?? 'synthetic';
  if (gateway === 'stripe' && !env.STRIPE_SECRET_KEY) {
    throw new ConfigError('Invalid configuration:\n  STRIPE_SECRET_KEY: required when BILLING_GATEWAY=stripe');
  }
  const stripeWebhookSecrets = (env.STRIPE_WEBHOOK_SECRET ?? '')
    .split(',')
    .map((secret) => secret.trim())
    .filter((secret) => secret !== '');

  return Object.freeze({
    databaseUrl: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    embeddedPostgresPort: env.EMBEDDED_PG_PORT,
    host: env.HOST,
    port: env.PORT,
    publicUrl: env.PUBLIC_URL,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    rolloutStage: env.BILLING_ROLLOUT_STAGE,
    gateway: Object.freeze({
      kind: gateway,
      syntheticSettlementDelayMs: env.SYNTHETIC_SETTLEMENT_DELAY_MS,
      stripeSecretKey: env.STRIPE_SECRET_KEY,
      stripeApiHost: env.STRIPE_API_HOST,
      stripeApiPort: env.STRIPE_API_PORT,
      stripeApiProtocol: env.STRIPE_API_PROTOCOL,
      timeoutMs: env.GATEWAY_TIMEOUT_MS,
    }),
    gatewayTimeoutMs: env.GATEWAY_TIMEOUT_MS,
    gatewayResendWindowSeconds: env.GATEWAY_RESEND_WINDOW_SECONDS,
    stripeWebhookSecrets: Object.freeze(stripeWebhookSecrets),
    replayMaxAttempts: env.REPLAY_MAX_ATTEMPTS,
    replayJobExpireSeconds: env.REPLAY_JOB_EXPIRE_SECONDS,
    jobMaintenanceIntervalSeconds: env.JOB_MAINTENANCE_INTERVAL_SECONDS,
    reconciliationCron: env.RECONCILIATION_CRON,
    reconciliationLookupsInFlight: env.RECONCILIATION_LOOKUPS_IN_FLIGHT,
    pendingAttemptGraceSeconds: env.PENDING_ATTEMPT_GRACE_SECONDS,
    notificationUrl: env.NOTIFICATION_URL,
    notificationSecret: env.NOTIFICATION_SECRET,
    devOperatorToken: env.DEV_OPERATOR_TOKEN ?? env.DATABASE_URL === undefined,
    demoSeed: env.DEMO_SEED ?? env.DATABASE_URL === undefined,
    dbPoolSize: env.DB_POOL_SIZE,
    dbPreparedStatements: env.DB_PREPARED_STATEMENTS ?? true,
    dbStatementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    dbLockTimeoutMs: env.DB_LOCK_TIMEOUT_MS,
    httpMaxInFlight: env.HTTP_MAX_IN_FLIGHT,
    healthPoolStallSeconds: env.HEALTH_POOL_STALL_SECONDS,
    graphqlMaxDepth: env.GRAPHQL_MAX_DEPTH,
    graphqlMaxCost: env.GRAPHQL_MAX_COST,
    authCacheTtlMs: env.AUTH_CACHE_TTL_MS,
    metricsToken: env.METRICS_TOKEN,
  });
}
