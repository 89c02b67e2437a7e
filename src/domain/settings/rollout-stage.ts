import { desc, eq, sql } from 'drizzle-orm';
import { ROLLOUT_STAGES, type Config, type RolloutStage } from '../../config.js';
import type { DbOrTx } from '../../db/client.js';
import { prepared } from '../../db/prepared.js';
import { settingChanges, settings } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { requireOperator, type Viewer } from '../auth/viewer.js';
import { pageSize } from '../pagination.js';

const KEY = 'billing_rollout_stage';

/**
 * Which workspaces may move money: OFF (none), PILOT (workspaces flagged billing_pilot), GENERAL (all).
 * Stored in `settings` so operators change it without a restart; BILLING_ROLLOUT_STAGE is the value
 * until the first change.
 */
export async function getRolloutStage(db: DbOrTx, config: Config): Promise<RolloutStage> {
  const [row] = await selectStage(db, { key: KEY });
  return isRolloutStage(row?.value) ? row.value : config.rolloutStage;
}

// Read by every capture and refund: built once (db/prepared.ts).
const selectStage = prepared('select_rollout_stage', (db) =>
  db.select({ value: settings.value }).from(settings).where(eq(settings.key, sql.placeholder('key'))),
);

export async function setRolloutStage(
  db: DbOrTx,
  config: Config,
  viewer: Viewer,
  stage: RolloutStage,
): Promise<{ previous: RolloutStage; current: RolloutStage }> {
  requireOperator(viewer, 'change the rollout stage');
  if (!isRolloutStage(stage)) throw new DomainError('BAD_USER_INPUT', `Unknown rollout stage ${String(stage)}`);
  return db.transaction(async (tx) => {
    // Serialises concurrent changes so each recorded change has the right "old value".
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${KEY}))`);
    const previous = await getRolloutStage(tx, config);
    await tx
      .insert(settings)
      .values({ key: KEY, value: stage, updatedBy: viewer.tokenId })
      .onConflictDoUpdate({ target: settings.key, set: { value: stage, updatedBy: viewer.tokenId, updatedAt: new Date() } });
    await tx.insert(settingChanges).values({ key: KEY, oldValue: previous, newValue: stage, changedBy: viewer.tokenId });
    return { previous, current: stage };
  });
}

export type RolloutStageChange = {
  oldValue: RolloutStage | null;
  newValue: RolloutStage;
  changedBy: string | null;
  changedAt: Date;
};

/** Newest first. Operators only. */
export async function listRolloutStageChanges(db: DbOrTx, viewer: Viewer, first?: number | null): Promise<RolloutStageChange[]> {
  requireOperator(viewer, 'read rollout changes');
  const rows = await db
    .select()
    .from(settingChanges)
    .where(eq(settingChanges.key, KEY))
    .orderBy(desc(settingChanges.id))
    .limit(pageSize(first));
  return rows.map((row) => ({
    oldValue: isRolloutStage(row.oldValue) ? row.oldValue : null,
    newValue: row.newValue as RolloutStage,
    changedBy: row.changedBy,
    changedAt: row.changedAt,
  }));
}

/** Capture and refund ask this before reserving anything; webhooks never do (the money already moved). */
export function assertRolloutAllows(stage: RolloutStage, workspace: { billingPilot: boolean }): void {
  if (stage === 'OFF') throw new DomainError('ROLLOUT_BLOCKED', 'Billing operations are switched off (rollout stage OFF)');
  if (stage === 'PILOT' && !workspace.billingPilot) {
    throw new DomainError('ROLLOUT_BLOCKED', 'This workspace is not in the billing pilot (rollout stage PILOT)');
  }
}

function isRolloutStage(value: unknown): value is RolloutStage {
  return typeof value === 'string' && (ROLLOUT_STAGES as readonly string[]).includes(value);
}
