import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { apiTokens, workspaces, type ApiToken, type TokenRole } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import type { Viewer } from './viewer.js';

const TOKEN_PREFIX = 'blt_';

/** Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export type CreateTokenInput = {
  name: string;
  role: TokenRole;
  workspaceId?: string | undefined;
  /** When it stops authenticating; omitted: never. Must lie in the future. */
  expiresAt?: Date | undefined;
};

/** A token as stored, without its hash: what listings show. */
export type TokenRecord = Omit<ApiToken, 'tokenHash'>;

/** Creates a token and returns its secret: the only time it is ever visible. */
export async function createApiToken(db: DbOrTx, input: CreateTokenInput): Promise<{ token: string; record: TokenRecord }> {
  if (input.role === 'SERVICE' && !input.workspaceId) {
    throw new DomainError('BAD_USER_INPUT', 'A service token needs a workspace', { field: 'workspaceId' });
  }
  if (input.role === 'OPERATOR' && input.workspaceId) {
    throw new DomainError('BAD_USER_INPUT', 'An operator token sees every workspace; do not give one', {
      field: 'workspaceId',
    });
  }
  if (input.name.trim() === '' || input.name.length > 200) {
    throw new DomainError('BAD_USER_INPUT', 'A token needs a name of 1 to 200 characters', { field: 'name' });
  }
  if (input.expiresAt && !(input.expiresAt.getTime() > Date.now())) {
    throw new DomainError('BAD_USER_INPUT', 'A token must expire in the future', { field: 'expiresAt' });
  }
  if (input.workspaceId) {
    const [workspace] = await db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, input.workspaceId));
    if (!workspace) throw new DomainError('NOT_FOUND', `Workspace ${input.workspaceId} not found`);
  }
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const [{ tokenHash: _hash, ...record }] = (await db
    .insert(apiTokens)
    .values({
      name: input.name,
      role: input.role,
      workspaceId: input.workspaceId ?? null,
      tokenHash: hashToken(token),
      tokenPrefix: token.slice(0, TOKEN_PREFIX.length + 6),
      expiresAt: input.expiresAt ?? null,
    })
    .returning()) as [ApiToken];
  return { token, record };
}

/**
 * The viewer behind a bearer token, or null for an unknown, revoked or expired one. `last_used_at` is
 * written at most once a minute per token (the write is skipped while the stored value is fresh), so
 * authentication costs one indexed read on nearly every request, not a write. Requests go through
 * `ViewerCache` (viewer-cache.ts), which calls this at most once per token per AUTH_CACHE_TTL_MS.
 */
export async function authenticateToken(db: DbOrTx, token: string): Promise<Viewer | null> {
  return (await authenticateTokenWithExpiry(db, token))?.viewer ?? null;
}

/** As authenticateToken, with the token's expiry, past which no cache may keep it. */
export async function authenticateTokenWithExpiry(db: DbOrTx, token: string): Promise<{ viewer: Viewer; expiresAt: Date | null } | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const [record] = await db
    .select({
      id: apiTokens.id,
      role: apiTokens.role,
      workspaceId: apiTokens.workspaceId,
      expiresAt: apiTokens.expiresAt,
      lastUseStale: sql<boolean>`${apiTokens.lastUsedAt} IS NULL OR ${apiTokens.lastUsedAt} < now() - interval '1 minute'`,
    })
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.tokenHash, hashToken(token)),
        isNull(apiTokens.revokedAt),
        or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, sql`now()`)),
      ),
    );
  if (!record) return null;
  if (record.lastUseStale) await recordUse(db, record.id);
  const viewer: Viewer =
    record.role === 'SERVICE' ? { tokenId: record.id, role: 'SERVICE', workspaceId: record.workspaceId! } : { tokenId: record.id, role: 'OPERATOR' };
  return { viewer, expiresAt: record.expiresAt };
}

/** Conditional, so concurrent requests (in any process) write it once per minute, not once each. */
async function recordUse(db: DbOrTx, id: string): Promise<void> {
  await db
    .update(apiTokens)
    .set({ lastUsedAt: sql`date_trunc('second', now())` })
    .where(and(eq(apiTokens.id, id), or(isNull(apiTokens.lastUsedAt), sql`${apiTokens.lastUsedAt} < now() - interval '1 minute'`)));
}

/** Reads `Authorization: Bearer <token>`; anything else is no token at all. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
