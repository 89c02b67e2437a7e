import { sql } from 'drizzle-orm';
import { check, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { workspaces } from './workspaces.js';

export const TOKEN_ROLES = ['OPERATOR', 'SERVICE'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** Bearer tokens, stored as SHA-256 hashes; the secret itself is shown once, at creation. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    role: text('role', { enum: TOKEN_ROLES }).notNull(),
    workspaceId: uuid('workspace_id').references(() => workspaces.id),
    tokenHash: text('token_hash').notNull().unique(),
    /** The first characters of the token, to recognise it in listings without revealing it. */
    tokenPrefix: text('token_prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** Past it the token no longer authenticates; null: it never expires. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** When the token last authenticated, to the minute (written at most once a minute). */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (table) => [
    check(
      'api_tokens_scope',
      sql`(${table.role} = 'OPERATOR' AND ${table.workspaceId} IS NULL) OR (${table.role} = 'SERVICE' AND ${table.workspaceId} IS NOT NULL)`,
    ),
  ],
);

export type ApiToken = typeof apiTokens.$inferSelect;
