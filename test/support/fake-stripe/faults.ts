/**
 * Failures a test schedules for the next matching request(s). One fault per request, oldest first.
 *
 * - `fail`: answered with an error status before the endpoint runs (a load balancer's 500, a 429);
 *   nothing happens and nothing is stored under the idempotency key.
 * - `decline`: the endpoint runs and refuses (402 card_error); stored under the key like any answer.
 * - `hang`: the endpoint runs and its answer is stored, then the response is held back for `ms`
 *   (past the client's timeout, the answer is lost while the work is done).
 */
export type Fault =
  | { kind: 'fail'; status: number }
  | { kind: 'decline'; code: string; declineCode: string; message: string }
  | { kind: 'hang'; ms: number };

export type FaultOptions = {
  /** How many requests in a row (default 1). */
  times?: number;
  method?: 'GET' | 'POST';
  /** A path prefix (`/v1/refunds`) or pattern. */
  path?: string | RegExp;
};

type ScheduledFault = { fault: Fault; remaining: number; method?: string; path?: string | RegExp };

export class FaultPlan {
  readonly #scheduled: ScheduledFault[] = [];

  add(fault: Fault, options: FaultOptions = {}): void {
    const remaining = options.times ?? 1;
    if (!Number.isInteger(remaining) || remaining < 1) throw new RangeError(`times must be a positive integer, got ${remaining}`);
    this.#scheduled.push({ fault, remaining, method: options.method, path: options.path });
  }

  take(method: string, path: string): Fault | undefined {
    const index = this.#scheduled.findIndex(
      (entry) =>
        (entry.method === undefined || entry.method === method) &&
        (entry.path === undefined || (typeof entry.path === 'string' ? path.startsWith(entry.path) : entry.path.test(path))),
    );
    if (index === -1) return undefined;
    const entry = this.#scheduled[index]!;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.#scheduled.splice(index, 1);
    return entry.fault;
  }

  clear(): void {
    this.#scheduled.length = 0;
  }
}
