import type { Deps } from '../deps.js';
import { declinedError, unsettledError, type AttemptResult } from './attempt-result.js';
import { callProcessor } from './call-processor.js';
import type { Reservation } from './reserve-attempt.js';
import { settleAttempt, type SettledAttempt } from './settle-attempt.js';
import { settleUnresolvedAttempt } from './settle-unresolved-attempt.js';

/**
 * Steps 2 and 3 for a reservation from step 1: a new attempt is sent to the processor and its answer
 * recorded; a repeated request gets its first result; one whose first answer was lost is settled by
 * asking the processor. Declines and unknown outcomes are thrown as DomainErrors once recorded.
 */
export async function performAttempt(deps: Deps, reservation: Reservation): Promise<AttemptResult> {
  switch (reservation.kind) {
    case 'replay':
      return reservation.result;
    case 'unresolved':
      return answer(await settleUnresolvedAttempt(deps, reservation.attempt.id, 'API'));
    case 'new': {
      const { attempt, paymentIntentId } = reservation;
      const outcome = await callProcessor(deps, attempt, paymentIntentId!);
      return answer(await settleAttempt(deps, attempt, outcome, 'API'));
    }
  }
}

function answer({ previousStatus: _previous, ...result }: SettledAttempt): AttemptResult {
  if (result.attempt.status === 'FAILED') throw declinedError(result.attempt);
  if (result.attempt.status !== 'SUCCEEDED') throw unsettledError(result.attempt);
  return result;
}
