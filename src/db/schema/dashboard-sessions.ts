import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { apiTokens } from './api-tokens.js';

/**
 * Signed-in dashboard sessions. The cookie carries a random session id, never the bearer token; only
 * the id's SHA-256 is stored. A session lives while its token is valid and until it expires or ends.
 */
export const dashboardSessions = pgTable(
  'dashboard_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sessionHash: text('session_hash').notNull().unique(),
    tokenId: uuid('token_id')
      .notNull()
      .references(() => apiTokens.id),
    /** Every form of the session carries it; a POST without it is refused. */
    csrfToken: text('csrf_token').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (table) => [index('dashboard_sessions_token_idx').on(table.tokenId)],
);

export type DashboardSession = typeof dashboardSessions.$inferSelect;
