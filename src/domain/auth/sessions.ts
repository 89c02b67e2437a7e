import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { apiTokens, dashboardSessions } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { authenticateToken } from './tokens.js';
import type { Viewer } from './viewer.js';

/** A working day: an operator signs in once in the morning. */
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;

const hashSessionId = (id: string) => createHash('sha256').update(id).digest('hex');
const randomSecret = () => randomBytes(32).toString('base64url');

export type StartedSession = { sessionId: string; csrfToken: string; viewer: Viewer; expiresAt: Date };
export type ActiveSession = { viewer: Viewer; csrfToken: string; expiresAt: Date };

/** Signs in with a bearer token: a new session whose id (for the cookie) is shown only now. */
export async function startSession(db: DbOrTx, token: string): Promise<StartedSession> {
  const viewer = await authenticateToken(db, token.trim());
  if (!viewer) throw new DomainError('UNAUTHENTICATED', 'That token is unknown or revoked');
  const sessionId = randomSecret();
  const csrfToken = randomSecret();
  const expiresAt = new Date(Date.now() + SESSION_LIFETIME_MS);
  await db.insert(dashboardSessions).values({ sessionHash: hashSessionId(sessionId), tokenId: viewer.tokenId, csrfToken, expiresAt });
  return { sessionId, csrfToken, viewer, expiresAt };
}

/** The session behind a cookie's id: null when unknown, ended, expired, or its token was revoked. */
export async function findSession(db: DbOrTx, sessionId: string): Promise<ActiveSession | null> {
  const [row] = await db
    .select({ role: apiTokens.role, tokenId: apiTokens.id, workspaceId: apiTokens.workspaceId, csrfToken: dashboardSessions.csrfToken, expiresAt: dashboardSessions.expiresAt })
    .from(dashboardSessions)
    .innerJoin(apiTokens, eq(apiTokens.id, dashboardSessions.tokenId))
    .where(
      and(
        eq(dashboardSessions.sessionHash, hashSessionId(sessionId)),
        isNull(dashboardSessions.endedAt),
        gt(dashboardSessions.expiresAt, new Date()),
        isNull(apiTokens.revokedAt),
      ),
    );
  if (!row) return null;
  const viewer: Viewer =
    row.role === 'SERVICE' ? { tokenId: row.tokenId, role: 'SERVICE', workspaceId: row.workspaceId! } : { tokenId: row.tokenId, role: 'OPERATOR' };
  return { viewer, csrfToken: row.csrfToken, expiresAt: row.expiresAt };
}

export async function endSession(db: DbOrTx, sessionId: string): Promise<void> {
  await db.update(dashboardSessions).set({ endedAt: new Date() }).where(eq(dashboardSessions.sessionHash, hashSessionId(sessionId)));
}

/** Constant-time comparison of a form's CSRF token with the session's. */
export function csrfTokenMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
