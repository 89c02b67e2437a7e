import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('needs no configuration at all', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: undefined,
      dataDir: '.data',
      embeddedPostgresPort: 54329,
      host: '127.0.0.1',
      port: 4000,
      logLevel: 'info',
      rolloutStage: 'PILOT',
      gateway: { kind: 'synthetic', stripeSecretKey: undefined, stripeApiProtocol: 'https' },
      stripeWebhookSecrets: [],
      replayMaxAttempts: 5,
      reconciliationCron: '0 * * * *',
      devOperatorToken: true,
      demoSeed: true,
      dbStatementTimeoutMs: 10_000,
      dbLockTimeoutMs: 5_000,
      httpMaxInFlight: 64,
      healthPoolStallSeconds: 30,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.gateway)).toBe(true);
  });

  it('reads the variables it is given and ignores the rest of the environment', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://billing:secret@db.internal:5432/billing',
      BILLING_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: 'sk_test_123',
      PORT: '8080',
      BILLING_ROLLOUT_STAGE: 'GENERAL',
      REPLAY_MAX_ATTEMPTS: '7',
      RECONCILIATION_CRON: '*/15 * * * *',
      LOG_LEVEL: 'warn',
      PATH: '/usr/bin',
    });
    expect(config).toMatchObject({ port: 8080, rolloutStage: 'GENERAL', replayMaxAttempts: 7, reconciliationCron: '*/15 * * * *', logLevel: 'warn' });
    // With a real database there is no development operator token and no demo data unless asked for.
    expect(config.devOperatorToken).toBe(false);
    expect(config.demoSeed).toBe(false);
    expect(config).not.toHaveProperty('PATH');
  });

  it('with a real database the gateway must be named: money never moves through a default', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://billing@db.internal/billing' })).toThrow(/BILLING_GATEWAY: required when DATABASE_URL is set/);
    expect(loadConfig({ DATABASE_URL: 'postgres://billing@db.internal/billing', BILLING_GATEWAY: 'synthetic' }).gateway.kind).toBe('synthetic');
  });

  it('keeps the re-send window well inside the 24 hours Stripe keeps idempotency keys', () => {
    expect(loadConfig({}).gatewayResendWindowSeconds).toBe(3600);
    expect(() => loadConfig({ GATEWAY_RESEND_WINDOW_SECONDS: String(24 * 3600) })).toThrow(/GATEWAY_RESEND_WINDOW_SECONDS/);
  });

  it('accepts several webhook secrets, comma-separated, during a rotation', () => {
    expect(loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_new, whsec_old,,' }).stripeWebhookSecrets).toEqual(['whsec_new', 'whsec_old']);
    expect(loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_only' }).stripeWebhookSecrets).toEqual(['whsec_only']);
  });

  it('refuses BILLING_GATEWAY=stripe without STRIPE_SECRET_KEY', () => {
    expect(() => loadConfig({ BILLING_GATEWAY: 'stripe' })).toThrow(/STRIPE_SECRET_KEY/);
    expect(() => loadConfig({ BILLING_GATEWAY: 'stripe', STRIPE_SECRET_KEY: '  ' })).toThrow(ConfigError);
    const config = loadConfig({ BILLING_GATEWAY: 'stripe', STRIPE_SECRET_KEY: 'sk_test_123', STRIPE_API_HOST: 'localhost', STRIPE_API_PORT: '12111', STRIPE_API_PROTOCOL: 'http' });
    expect(config.gateway).toMatchObject({ kind: 'stripe', stripeSecretKey: 'sk_test_123', stripeApiHost: 'localhost', stripeApiPort: 12111, stripeApiProtocol: 'http' });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['EMBEDDED_PG_PORT', '-1'],
    ['DATABASE_URL', 'not a url'],
    ['PUBLIC_URL', 'billing.example.com'],
    ['LOG_LEVEL', 'loud'],
    ['BILLING_ROLLOUT_STAGE', 'BETA'],
    ['BILLING_GATEWAY', 'paypal'],
    ['SYNTHETIC_SETTLEMENT_DELAY_MS', '-1'],
    ['STRIPE_API_PORT', 'https'],
    ['STRIPE_API_PROTOCOL', 'ftp'],
    ['REPLAY_MAX_ATTEMPTS', '0'],
    ['RECONCILIATION_CRON', 'hourly'],
    ['PENDING_ATTEMPT_GRACE_SECONDS', 'soon'],
    ['NOTIFICATION_URL', 'example.com/hook'],
    ['DEV_OPERATOR_TOKEN', 'maybe'],
    ['DEMO_SEED', 'sometimes'],
    ['DB_POOL_SIZE', '0'],
    ['DB_STATEMENT_TIMEOUT_MS', '-1'],
    ['DB_LOCK_TIMEOUT_MS', '5s'],
    ['HTTP_MAX_IN_FLIGHT', '0'],
    ['HEALTH_POOL_STALL_SECONDS', '0'],
    ['GRAPHQL_MAX_DEPTH', '1'],
    ['GRAPHQL_MAX_COST', '5'],
    ['AUTH_CACHE_TTL_MS', '-1'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(new RegExp(`^\\s*${name}: `, 'm'));
  });

  it('reads the timeouts, the in-flight bound and the pool stall limit; 0 turns a timeout off', () => {
    const config = loadConfig({ DB_STATEMENT_TIMEOUT_MS: '0', DB_LOCK_TIMEOUT_MS: '250', HTTP_MAX_IN_FLIGHT: '3', HEALTH_POOL_STALL_SECONDS: '2' });
    expect(config).toMatchObject({ dbStatementTimeoutMs: 0, dbLockTimeoutMs: 250, httpMaxInFlight: 3, healthPoolStallSeconds: 2 });
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud' })).toThrow(/PORT: [\s\S]*LOG_LEVEL: /);
  });
});
