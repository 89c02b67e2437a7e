import { eq } from 'drizzle-orm';
import { processorEvents, type ProcessorEvent } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { requireOperator, type Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { processEvent, replayLimitError } from './process-event.js';
import { scheduleReplays } from './schedule-replays.js';

export type ReplayOutcome = 'ACCEPTED' | 'REPLAYED' | 'FAILED';
export type TriggerReplayResult = { outcome: ReplayOutcome; event: ProcessorEvent; error: string | null };

/**
 * An operator asks for an event to be applied again, after fixing its cause. `force` replays now and
 * answers REPLAYED or FAILED; otherwise the flag and the job are committed together and the replay
 * worker does it (ACCEPTED): the job is retried if its worker dies, and the sweeper enqueues another if
 * it is lost. Past the attempt cap: REPLAY_LIMIT_REACHED. The operator's replay also gives the event
 * a fresh set of automatic retries for transient failures.
 */
export async function triggerReplay(deps: Deps, viewer: Viewer, eventId: string, force: boolean): Promise<TriggerReplayResult> {
  requireOperator(viewer, 'replay processor events');
  if (force) {
    const result = await processEvent(deps, eventId, 'forced');
    return { outcome: result.outcome === 'FAILED' ? 'FAILED' : 'REPLAYED', event: result.event, error: result.error };
  }
  return deps.db.transaction(async (tx) => {
    const [event] = await tx.select().from(processorEvents).where(eq(processorEvents.id, eventId)).for('update');
    if (!event) throw new DomainError('NOT_FOUND', `Processor event ${eventId} not found`);
    if (event.replayAttempts >= deps.config.replayMaxAttempts) throw replayLimitError(event, deps.config.replayMaxAttempts);
    const condition = eq(processorEvents.id, eventId);
    await tx.update(processorEvents).set({ replayRequested: true, automaticRetries: 0 }).where(condition);
    await scheduleReplays(tx, deps.jobs, condition, 'operator');
    const [updated] = await tx.select().from(processorEvents).where(condition);
    return { outcome: 'ACCEPTED' as const, event: updated!, error: null };
  });
}
