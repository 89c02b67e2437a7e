import type PgBoss from 'pg-boss';
import type { Deps } from '../../domain/deps.js';
import type { QueuePayloads } from '../../domain/jobs/queues.js';
import { settleUnresolvedAttempt } from '../../domain/ledger/settle-unresolved-attempt.js';

/** One attempt per job; an attempt still unsettled throws, so pg-boss asks again later with backoff. */
export const settleAttemptHandler =
  (deps: Deps) =>
  async (job: PgBoss.Job<QueuePayloads['settle-attempt']>): Promise<void> => {
    const { attempt } = await settleUnresolvedAttempt(deps, job.data.attemptId, 'SYSTEM');
    if (attempt.status === 'PENDING' || attempt.status === 'UNKNOWN') {
      throw new Error(`attempt ${attempt.id} is still ${attempt.status}: the processor will be asked again`);
    }
  };
