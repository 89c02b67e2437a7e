/**
 * Failures a test asks the synthetic gateway for, per invoice and operation. The plan is the process's
 * own (each process sharing the synthetic processor's database has its own); what a failure leaves
 * under an idempotency key is stored with the processor, in Postgres. Each call that reaches the gateway
 * consumes at most one, oldest first.
 *
 * - `decline`: the processor refuses (a card decline); stored under the idempotency key like any decline.
 * - `unavailable`: the request never reached the processor; nothing is done or stored.
 * - `error_before`: the processor answered 500 before doing anything; nothing is done or stored.
 * - `timeout_after_success`: the processor did the work and stored its answer, then the answer was lost.
 * - `error_after_success`: the processor did the work, answered 500 and stored that 500 under the key,
 *   so a re-send within the key's retention gets the same 500 (as Stripe replays saved 500s).
 *
 * A re-send of a stored request only meets the failures that happen in front of the processor
 * (`unavailable`, `error_before`, `timeout_after_success`): the others apply to work not yet done.
 */
export type SyntheticFailureMode = 'decline' | 'unavailable' | 'error_before' | 'timeout_after_success' | 'error_after_success';
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
