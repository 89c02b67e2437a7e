/**
 * The fake's time: a base clock (the real one unless a test gives its own) plus an offset that tests move
 * forward. Everything time-dependent in the fake reads it: object and event `created`, settlement dates,
 * and how long idempotency keys are kept, so a test can let a key expire without waiting a day.
 */
export class FakeClock {
  #offsetMs = 0;

  constructor(readonly base: () => Date = () => new Date()) {}

  now(): Date {
    return new Date(this.base().getTime() + this.#offsetMs);
  }

  /** Unix seconds, as Stripe's `created` fields. */
  seconds(): number {
    return Math.floor(this.now().getTime() / 1000);
  }

  /** Moves time forward (never back: Stripe's lists are ordered by creation). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance takes a non-negative number of milliseconds, got ${ms}`);
    this.#offsetMs += ms;
  }
}
