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
 * Postgres's own words for a failure and its SQLSTATE, without Drizzle's wrapping (which quotes the
 * statement and its parameters): safe to store and show. Connection errors have no SQLSTATE.
 */
export function describeDatabaseError(error: unknown): string {
  const pg = pgError(error);
  if (pg) return `${pg.message ?? 'database error'} (SQLSTATE ${pg.code})`;
  const root = (error as { cause?: unknown })?.cause ?? error;
  return root instanceof Error ? root.message : String(root);
}
