import { and, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../../db/client.js';
import { apiTokens } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { createApiToken, type CreateTokenInput, type TokenRecord } from './tokens.js';
import { forgetCachedToken } from './viewer-cache.js';
import { requireOperator, type Viewer } from './viewer.js';

/**
 * Listing and revoking bearer tokens. The plain functions serve the operator CLI (whoever can run it
 * holds the database); the `…As` ones are the API's, operators only. Neither ever reads a token's hash.
 */

export type TokenState = 'ACTIVE' | 'REVOKED' | 'EXPIRED';
export type TokenListing = TokenRecord & { state: TokenState };

const listing = {
  id: apiTokens.id,
  name: apiTokens.name,
  role: apiTokens.role,
  workspaceId: apiTokens.workspaceId,
  tokenPrefix: apiTokens.tokenPrefix,
  createdAt: apiTokens.createdAt,
  revokedAt: apiTokens.revokedAt,
  expiresAt: apiTokens.expiresAt,
  lastUsedAt: apiTokens.lastUsedAt,
  // The database's clock decides, as it does when a token authenticates.
  state: sql<TokenState>`CASE WHEN ${apiTokens.revokedAt} IS NOT NULL THEN 'REVOKED' WHEN ${apiTokens.expiresAt} <= now() THEN 'EXPIRED' ELSE 'ACTIVE' END`,
};

const tokenId = z.uuid();

/** Newest first; only the tokens that still authenticate unless `includeInactive`. */
export async function listApiTokens(db: DbOrTx, options: { includeInactive?: boolean } = {}): Promise<TokenListing[]> {
  const active = and(isNull(apiTokens.revokedAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, sql`now()`)));
  return db
    .select(listing)
    .from(apiTokens)
    .where(options.includeInactive ? undefined : active)
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
}

/**
 * Revokes: the next request with it through this process is UNAUTHENTICATED, through any other process
 * within AUTH_CACHE_TTL_MS (1 s). Revoking twice keeps the first time.
 */
export async function revokeApiToken(db: DbOrTx, id: string): Promise<TokenListing> {
  if (!tokenId.safeParse(id).success) throw new DomainError('BAD_USER_INPUT', `"${id}" is not a token id (a UUID)`, { field: 'id' });
  const [revoked] = await db
    .update(apiTokens)
    .set({ revokedAt: sql`coalesce(${apiTokens.revokedAt}, now())` })
    .where(eq(apiTokens.id, id))
    .returning(listing);
  if (!revoked) throw new DomainError('NOT_FOUND', `Token ${id} not found`);
  // This process's requests see it at once; other processes within AUTH_CACHE_TTL_MS.
  forgetCachedToken(db, id);
  return revoked;
}

export function listApiTokensAs(db: DbOrTx, viewer: Viewer, options: { includeInactive?: boolean }): Promise<TokenListing[]> {
  requireOperator(viewer, 'list tokens');
  return listApiTokens(db, options);
}

export function revokeApiTokenAs(db: DbOrTx, viewer: Viewer, id: string): Promise<TokenListing> {
  requireOperator(viewer, 'revoke tokens');
  return revokeApiToken(db, id);
}

export async function createApiTokenAs(db: DbOrTx, viewer: Viewer, input: CreateTokenInput): Promise<{ token: string; record: TokenListing }> {
  requireOperator(viewer, 'create tokens');
  const { token, record } = await createApiToken(db, input);
  return { token, record: { ...record, state: 'ACTIVE' } };
}
