import type { Express } from 'express';

export type ReadinessCheck = () => Promise<void> | void;

export type Liveness = {
  /** Why the process can no longer serve (so its supervisor should restart it), or undefined. */
  failure(): Promise<string | undefined>;
};

export const LIVENESS_PATH = '/healthz';
export const READINESS_PATH = '/readyz';

/**
 * /healthz: the process can still serve (liveness; a failure means "restart me"). /readyz: it should get
 * traffic: its dependencies answer, it is not saturated, it is not shutting down (503 otherwise).
 */
export function mountHealth(app: Express, checks: Record<string, ReadinessCheck>, liveness: Liveness): void {
  app.get(LIVENESS_PATH, async (_req, res) => {
    const failure = await liveness.failure();
    if (failure) res.status(503).json({ status: 'failing', reason: failure });
    else res.json({ status: 'ok' });
  });
  app.get(READINESS_PATH, async (_req, res) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(Promise.resolve(check()), 2000);
          return [name, 'ok'] as const;
        } catch {
          return [name, 'unavailable'] as const;
        }
      }),
    );
    const ready = results.every(([, state]) => state === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(results) });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
