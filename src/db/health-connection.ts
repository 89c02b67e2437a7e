import postgres from 'postgres';

export type HealthConnection = {
  /** Resolves when Postgres answers `SELECT 1` within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
};

/**
 * One connection of its own for health checks, outside the service's pool: a pool busy with requests
 * must not make /readyz say the database is down, and a wedged pool must be told apart from a dead
 * database (/healthz).
 */
export function connectHealthCheck(url: string): HealthConnection {
  const sql = postgres(url, {
    max: 1,
    connect_timeout: 2,
    prepare: false,
    onnotice: () => {},
    connection: { application_name: 'billing-ledger health', statement_timeout: 2000 },
  });
  return {
    async ping(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([sql`SELECT 1`, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => sql.end({ timeout: 2 }),
  };
}
