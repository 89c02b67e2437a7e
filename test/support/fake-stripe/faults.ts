/**
 * Failures a test schedules for the next matching request(s). One fault per request, oldest first. A
 * fault is used up by the request it matches, even when that request is answered from the idempotency
 * store (then only the faults that act before Stripe's API, `fail` and `drop` before, still apply).
 *
 * - `fail` before: an error status before the endpoint runs (a load balancer's 500, a 429); nothing
 *   happens and nothing is kept under the idempotency key, so a re-send executes.
 * - `fail` after: the endpoint runs and succeeds, then the answer is a 500, and that 500 is what Stripe
 *   keeps for the key: every re-send with it gets the same 500 until the key expires.
 * - `drop` before / after: the connection is destroyed without an answer, before the endpoint runs or
 *   after it ran (and its answer was kept for the key).
 * - `hang`: the endpoint runs and its answer is kept, then the response is held back for `ms` (past the
 *   client's timeout, the answer is lost while the work is done).
 * - `hold`: the request stays in flight, before the endpoint runs, until the test releases it: other
 *   requests with its idempotency key meanwhile get 409 `idempotency_key_in_use`.
 * - `decline`: the endpoint runs and refuses (402 card_error); kept under the key like any answer.
 */
export type Fault =
  | { kind: 'fail'; status: number; when: 'before' | 'after' }
  | { kind: 'drop'; when: 'before' | 'after' }
  | { kind: 'hang'; ms: number }
  | { kind: 'hold'; gate: Gate }
  | { kind: 'decline'; code: string; declineCode: string; message: string };

export type FaultOptions = {
  /** How many requests in a row (default 1). */
  times?: number;
  method?: 'GET' | 'POST';
  /** A path prefix (`/v1/refunds`) or pattern. */
  path?: string | RegExp;
};

/** A held request: `arrived` once it is in flight, `release()` lets it run. */
export class Gate {
  #release!: () => void;
  #arrive!: () => void;
  readonly released = new Promise<void>((resolve) => (this.#release = resolve));
  readonly arrived = new Promise<void>((resolve) => (this.#arrive = resolve));

  release(): void {
    this.#release();
  }

  /** Called by the server when the held request comes in. */
  arrive(): void {
    this.#arrive();
  }
}

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
