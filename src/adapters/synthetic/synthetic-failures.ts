/**
 * Failures a test asks the synthetic gateway for, per invoice and operation. Each call that reaches the
 * gateway consumes at most one, oldest first.
 *
 * - `decline`: the processor refuses (a card decline); recorded under the idempotency key like any decline.
 * - `unavailable`: the request never reached the processor; nothing is recorded.
 * - `timeout_after_success`: the processor did the work and recorded it, then the answer was lost.
 */
export type SyntheticFailureMode = 'decline' | 'unavailable' | 'timeout_after_success';
export type SyntheticOperation = 'capture' | 'refund';

export type SyntheticFailure = {
  invoiceId: string;
  operation: SyntheticOperation;
  mode: SyntheticFailureMode;
  /** How many calls fail this way (default 1). */
  times?: number;
  /** The decline code for `mode: 'decline'` (default `card_declined`). */
  declineCode?: string;
};

type PendingFailure = Required<SyntheticFailure>;

export class SyntheticFailurePlan {
  readonly #pending: PendingFailure[] = [];

  add(failure: SyntheticFailure): void {
    const times = failure.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new RangeError(`times must be a positive integer, got ${times}`);
    this.#pending.push({ declineCode: 'card_declined', ...failure, times });
  }

  /** The next failure planned for this call, if any; `accept` lets the caller skip modes that do not apply. */
  take(
    invoiceId: string,
    operation: SyntheticOperation,
    accept: (mode: SyntheticFailureMode) => boolean = () => true,
  ): PendingFailure | undefined {
    const index = this.#pending.findIndex(
      (failure) => failure.invoiceId === invoiceId && failure.operation === operation && accept(failure.mode),
    );
    if (index === -1) return undefined;
    const failure = this.#pending[index]!;
    failure.times -= 1;
    if (failure.times === 0) this.#pending.splice(index, 1);
    return { ...failure };
  }

  clear(): void {
    this.#pending.length = 0;
  }
}
