import { asc, eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { workspaces, type Workspace } from '../../db/schema/index.js';
import { canSeeWorkspace, workspaceScope, type Viewer } from '../auth/viewer.js';

export async function findWorkspace(db: DbOrTx, viewer: Viewer, id: string): Promise<Workspace | null> {
  if (!canSeeWorkspace(viewer, id)) return null;
  const [workspace] = await db.select().from(workspaces).where(eq(workspaces.id, id));
  return workspace ?? null;
}

export async function listWorkspaces(db: DbOrTx, viewer: Viewer): Promise<Workspace[]> {
  const scope = workspaceScope(viewer);
  const query = db.select().from(workspaces);
  return (scope ? query.where(eq(workspaces.id, scope)) : query).orderBy(asc(workspaces.name));
}
