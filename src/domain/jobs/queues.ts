import type { DbOrTx } from '../../db/client.js';

/** Every background queue and the payload its jobs carry: one map, so producers and workers agree. */
export type QueuePayloads = {
  'capture-notification': { invoiceId: string; adjustmentId: string };
  'processor-event-replay': { processorEventId: string; reason?: ReplayReason };
  'processor-event-sweep': { trigger: 'SCHEDULE' | 'START' };
  reconciliation: { trigger: 'SCHEDULE' | 'OPERATOR' | 'COMMAND' };
  /** Asks the processor what became of a payment attempt whose answer may never arrive. */
  'settle-attempt': { attemptId: string };
};

export type QueueName = keyof QueuePayloads;
export const QUEUE_NAMES: readonly QueueName[] = ['capture-notification', 'processor-event-replay', 'reconciliation', 'processor-event-sweep', 'settle-attempt'];

/**
 * Why a replay job exists: `operator` (triggerReplay; counted against REPLAY_MAX_ATTEMPTS, and the
 * default for jobs enqueued before reasons existed), or an automatic one, not counted: `transient` (a
 * retry after a deadlock or timeout), `released` (its invoice appeared), `unapplied` (stored, never
 * applied), `overdue` (its job was lost).
 */
export type ReplayReason = 'operator' | 'transient' | 'released' | 'unapplied' | 'overdue';

export type EnqueueOptions = { singletonKey?: string; startAfterSeconds?: number };

/**
 * Enqueues inside the caller's transaction: the job commits or rolls back together with the rows
 * that called for it, so no notification is sent for a capture that did not happen.
 */
export interface JobQueue {
  enqueue<N extends QueueName>(tx: DbOrTx, name: N, payload: QueuePayloads[N], options?: EnqueueOptions): Promise<string | null>;
}
