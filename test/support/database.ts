import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { dropDatabase, ensureDatabase, withDatabase } from '../../src/db/admin.js';
import { connectDatabase, type Database, type DatabaseOptions } from '../../src/db/client.js';

export type TestDatabase = Database & { url: string; name: string; drop(): Promise<void> };

/** A fresh copy of the migrated template: each test file gets its own, so files never share rows. */
export async function createTestDatabase(options: DatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = `test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await ensureDatabase(adminUrl, name, inject('templateDatabase'));
  const url = withDatabase(adminUrl, name);
  const database = connectDatabase(url, { max: 5, ...options });
  return {
    ...database,
    url,
    name,
    async drop() {
      await database.close();
      await dropDatabase(adminUrl, name);
    },
  };
}

/** Another connection to an existing test database, e.g. one that counts statements. */
export function connectTo(url: string, options: DatabaseOptions = {}): Database {
  return connectDatabase(url, { max: 5, ...options });
}
