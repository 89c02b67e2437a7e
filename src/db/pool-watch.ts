import { performance } from 'node:perf_hooks';

export type PoolWatch = {
  /**
   * How long, in ms, the probe in flight has waited (0 when none is). Starts a probe when none is in
   * flight, so a process whose health is never asked costs nothing.
   */
  stalledForMs(): number;
};

/**
 * Tells a wedged pool from a busy one: a probe (`SELECT 1` through the pool) queues behind the
 * requests like any of them, and only a pool that hands out no connection at all (every connection held
 * by work that waits on something that never comes) keeps it waiting past the statement timeout.
 */
export function watchPool(probe: () => Promise<unknown>): PoolWatch {
  let startedAt: number | undefined;
  return {
    stalledForMs() {
      if (startedAt === undefined) {
        startedAt = performance.now();
        // A failing probe (database down) is not a stall: readiness reports the database.
        const settled = () => {
          startedAt = undefined;
        };
        probe().then(settled, settled);
        return 0;
      }
      return performance.now() - startedAt;
    },
  };
}
