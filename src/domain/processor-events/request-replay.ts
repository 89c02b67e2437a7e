import { DomainError } from '../../errors.js';
import { desc, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { replayRequests, type ReplayRequest } from '../../db/schema/index.js';
import { requireOperator, type Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { triggerReplay, type TriggerReplayResult } from './trigger-replay.js';

export type ReplayRequestInput = { eventId: string; force: boolean; reason?: string | null | undefined };

const MAX_REASON_LENGTH = 500;

/**
 * An operator's replay from the dashboard: `triggerReplay`, and a record of who asked, how and why
 * (`replay_requests`). A forced replay must say why. A refused replay records nothing.
 */
export async function requestReplay(deps: Deps, viewer: Viewer, input: ReplayRequestInput): Promise<TriggerReplayResult> {
  requireOperator(viewer, 'replay processor events');
  const reason = input.reason?.trim() || null;
  if (input.force && !reason) throw new DomainError('BAD_USER_INPUT', 'A forced replay needs a reason', { field: 'reason' });
  if (reason && reason.length > MAX_REASON_LENGTH) {
    throw new DomainError('BAD_USER_INPUT', `reason must be at most ${MAX_REASON_LENGTH} characters`, { field: 'reason' });
  }
  const result = await triggerReplay(deps, viewer, input.eventId, input.force);
  await deps.db.insert(replayRequests).values({
    processorEventId: input.eventId,
    requestedBy: viewer.tokenId,
    forced: input.force,
    reason,
    outcome: result.outcome,
  });
  return result;
}

/** The latest request for each of these events: who asked last, how, and why. */
export async function latestReplayRequests(db: DbOrTx, eventIds: readonly string[]): Promise<Map<string, ReplayRequest>> {
  const latest = new Map<string, ReplayRequest>();
  if (eventIds.length === 0) return latest;
  const rows = await db
    .select()
    .from(replayRequests)
    .where(inArray(replayRequests.processorEventId, [...eventIds]))
    .orderBy(desc(replayRequests.createdAt));
  for (const row of rows) if (!latest.has(row.processorEventId)) latest.set(row.processorEventId, row);
  return latest;
}
