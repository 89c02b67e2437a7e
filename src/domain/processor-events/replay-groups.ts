import { asc, eq } from 'drizzle-orm';
import { processorEvents, type ProcessorEvent, type ReplayRequest } from '../../db/schema/index.js';
import { isDomainError, type ErrorCode } from '../../errors.js';
import { requireOperator, type Viewer } from '../auth/viewer.js';
import type { Deps } from '../deps.js';
import { dryRunReplay } from './dry-run-replay.js';
import { latestReplayRequests, requestReplay } from './request-replay.js';

/** The queue is small by design (events that could not be applied); past this many, the page says so. */
const QUEUE_READ_LIMIT = 1000;

export type QueueGroup = {
  /** The error with its ids taken out, so "no invoice found for payment intent pi_1" and "…pi_2" group. */
  signature: string;
  events: ProcessorEvent[];
  oldestReceivedAt: Date;
  /** The most attempts any of its events has had, against the cap. */
  maxAttempts: number;
  cap: number;
  atCap: number;
};

export type ReplayGroup = QueueGroup & {
  /** A dry run of its newest event under the cap now applies: its cause looks fixed. */
  causeFixed: boolean;
};

export type ReplayQueue = {
  groups: ReplayGroup[];
  total: number;
  truncated: boolean;
  /** Who last asked for each event's replay from the billing center. */
  lastRequests: Map<string, ReplayRequest>;
};

const NOT_TRIED = 'not applied yet';

/** Ids (processor objects, UUIDs) and amounts vary within one cause; the signature drops them. */
export function errorSignature(error: string | null): string {
  if (!error) return NOT_TRIED;
  return error
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
    .replace(/\b([a-z]{2,5})_[A-Za-z0-9]+/g, '$1_…')
    .replace(/\b\d+\b/g, '<n>');
}

/** The replay queue grouped by error signature, largest group first, each checked by a dry run. Operators only. */
export async function replayQueue(deps: Deps, viewer: Viewer): Promise<ReplayQueue> {
  requireOperator(viewer, 'read the replay queue');
  const { groups, total, truncated } = await groupQueue(deps);
  const checked: ReplayGroup[] = [];
  for (const group of groups) checked.push({ ...group, causeFixed: await causeLooksFixed(deps, viewer, group.events, group.cap) });
  const lastRequests = await latestReplayRequests(deps.db, groups.flatMap((group) => group.events.map((event) => event.id)));
  return { groups: checked, total, truncated, lastRequests };
}

async function groupQueue(deps: Deps): Promise<{ groups: QueueGroup[]; total: number; truncated: boolean }> {
  const rows = await deps.db
    .select()
    .from(processorEvents)
    .where(eq(processorEvents.replayRequested, true))
    .orderBy(asc(processorEvents.receivedAt), asc(processorEvents.id))
    .limit(QUEUE_READ_LIMIT + 1);
  const events = rows.slice(0, QUEUE_READ_LIMIT);
  const bySignature = new Map<string, ProcessorEvent[]>();
  for (const event of events) {
    const signature = errorSignature(event.lastReplayError);
    bySignature.set(signature, [...(bySignature.get(signature) ?? []), event]);
  }
  const cap = deps.config.replayMaxAttempts;
  const groups = [...bySignature].map(([signature, members]) => ({
    signature,
    events: members,
    oldestReceivedAt: members[0]!.receivedAt,
    maxAttempts: Math.max(...members.map((event) => event.replayAttempts)),
    cap,
    atCap: members.filter((event) => event.replayAttempts >= cap).length,
  }));
  groups.sort((a, b) => b.events.length - a.events.length || a.oldestReceivedAt.getTime() - b.oldestReceivedAt.getTime());
  return { groups, total: events.length, truncated: rows.length > QUEUE_READ_LIMIT };
}

async function causeLooksFixed(deps: Deps, viewer: Viewer, members: ProcessorEvent[], cap: number): Promise<boolean> {
  const candidate = members.filter((event) => event.replayAttempts < cap).at(-1);
  if (!candidate) return false;
  try {
    const report = await dryRunReplay(deps, viewer, candidate.id);
    return report.outcome !== 'FAILED';
  } catch (error) {
    if (isDomainError(error)) return false;
    throw error;
  }
}

/** The events of one group, for the page that says how many a bulk replay will touch. */
export async function replayGroup(deps: Deps, viewer: Viewer, signature: string): Promise<QueueGroup | null> {
  requireOperator(viewer, 'read the replay queue');
  const { groups } = await groupQueue(deps);
  return groups.find((group) => group.signature === signature) ?? null;
}

export type BulkReplayResult = { accepted: number; refused: { eventId: string; code: ErrorCode; message: string }[] };

/** Schedules a replay of every event of a group (as `requestReplay`, one by one); each refusal is reported with its code. */
export async function replayWholeGroup(deps: Deps, viewer: Viewer, signature: string): Promise<BulkReplayResult> {
  requireOperator(viewer, 'replay processor events');
  const group = await replayGroup(deps, viewer, signature);
  const result: BulkReplayResult = { accepted: 0, refused: [] };
  for (const event of group?.events ?? []) {
    try {
      await requestReplay(deps, viewer, { eventId: event.id, force: false });
      result.accepted++;
    } catch (error) {
      if (!isDomainError(error)) throw error;
      result.refused.push({ eventId: event.id, code: error.code, message: error.message });
    }
  }
  return result;
}
