import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { apiTokens, workspaces, type ApiToken, type TokenRole } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import type { Viewer } from './viewer.js';

const TOKEN_PREFIX = 'blt_';

/** Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export type CreateTokenInput = { name: string; role: TokenRole; workspaceId?: string | undefined };

/** Creates a token and returns its secret: the only time it is ever visible. */
export async function createApiToken(
  db: DbOrTx,
  input: CreateTokenInput,
): Promise<{ token: string; record: ApiToken }> {
  if (input.role === 'SERVICE' && !input.workspaceId) {
    throw new DomainError('BAD_USER_INPUT', 'A service token needs a workspace', { field: 'workspaceId' });
  }
  if (input.role === 'OPERATOR' && input.workspaceId) {
    throw new DomainError('BAD_USER_INPUT', 'An operator token sees every workspace; do not give one', {
      field: 'workspaceId',
    });
  }
  if (input.workspaceId) {
    const [workspace] = await db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, input.workspaceId));
    if (!workspace) throw new DomainError('NOT_FOUND', `Workspace ${input.workspaceId} not found`);
  }
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const [record] = await db
    .insert(apiTokens)
    .values({
      name: input.name,
      role: input.role,
      workspaceId: input.workspaceId ?? null,
      tokenHash: hashToken(token),
      tokenPrefix: token.slice(0, TOKEN_PREFIX.length + 6),
    })
    .returning();
  return { token, record: record! };
}

/** The viewer behind a bearer token, or null for an unknown or revoked one. */
export async function authenticateToken(db: DbOrTx, token: string): Promise<Viewer | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const [record] = await db
    .select({ id: apiTokens.id, role: apiTokens.role, workspaceId: apiTokens.workspaceId })
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)));
  if (!record) return null;
  if (record.role === 'SERVICE') {
    return { tokenId: record.id, role: 'SERVICE', workspaceId: record.workspaceId! };
  }
  return { tokenId: record.id, role: 'OPERATOR' };
}

/** Reads `Authorization: Bearer <token>`; anything else is no token at all. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
