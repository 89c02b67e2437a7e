/** Postgres error facts, seen through Drizzle's wrapping (`DrizzleQueryError.cause`). */
type PgError = { code?: string; message?: string; constraint_name?: string; constraint?: string };

function pgError(error: unknown): PgError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 3 && current && typeof current === 'object'; depth++) {
    const candidate = current as PgError & { cause?: unknown };
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code)) return candidate;
    current = candidate.cause;
  }
  return undefined;
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pg = pgError(error);
  if (pg?.code !== '23505') return false;
  return constraint === undefined || (pg.constraint_name ?? pg.constraint) === constraint;
}

export function isCheckViolation(error: unknown, constraint?: string): boolean {
  const pg = pgError(error);
  if (pg?.code !== '23514') return false;
  return constraint === undefined || (pg.constraint_name ?? pg.constraint) === constraint;
}

/** Connection-level failures: the database is down or unreachable, not a query bug. */
export function isConnectionError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 3 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|CONNECTION_|57P0|08)/.test(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Failures that say nothing about the event or the request, only about the moment: a serialization
 * failure (40001), a deadlock (40P01), a lock or statement timeout (55P03, 57014), or a lost connection.
 * The same work, tried again a little later, may well succeed.
 */
export function isTransientError(error: unknown): boolean {
  return ['40001', '40P01', '55P03', '57014'].includes(pgError(error)?.code ?? '') || isConnectionError(error);
}

/**
 * Postgres's own words for a failure (message, detail) and its SQLSTATE, without Drizzle's wrapping
 * (which quotes the statement and its parameters): safe to store and show. Connection errors have no SQLSTATE.
 */
export function describeDatabaseError(error: unknown): string {
  const pg = pgError(error) as (PgError & { detail?: string }) | undefined;
  if (pg) return `${[pg.message ?? 'database error', pg.detail].filter(Boolean).join(': ')} (SQLSTATE ${pg.code})`;
  const root = (error as { cause?: unknown })?.cause ?? error;
  return root instanceof Error ? root.message : String(root);
}

/**
 * The database cannot serve now, through no fault of the request: unreachable, shutting down, refusing
 * connections, out of connections or resources, or a statement cut short by a timeout. Callers answer
 * 503 (SERVICE_UNAVAILABLE) so clients retry.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (isConnectionError(error) || errorCodes(error).includes('CONNECT_TIMEOUT')) return true;
  const code = pgError(error)?.code;
  if (!code) return false;
  // 08 connection, 53 resources, 57 operator intervention and timeouts, 28 authentication, 3D000 no
  // such database, 55000 a database not accepting connections, 55P03 lock timeout, 40001/40P01 retryable.
  return /^(08|53|57|28)/.test(code) || ['3D000', '55000', '55P03', '40001', '40P01'].includes(code);
}

/**
 * Postgres refused a value it was given: a data exception (class 22: a NUL character, a JSON escape
 * or surrogate jsonb rejects, a malformed uuid…) or a program limit (class 54: JSON nested too deep).
 */
export function isUnstorableValue(error: unknown): boolean {
  const code = pgError(error)?.code;
  return code !== undefined && /^(22|54)/.test(code);
}

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 3 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}
