import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { migrationsFolder } from '../paths.js';
import type { Db } from './client.js';

/** Applies the committed drizzle-kit migrations; safe to run at every start (already applied ones are skipped). */
export async function migrateDatabase(db: Db): Promise<void> {
  await migrate(db, { migrationsFolder: migrationsFolder() });
}
