import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

// A pool of one connection, which the test takes and holds: the service's pool is wedged.
let service: TestService;

beforeAll(async () => {
  service = await startTestService({ DB_POOL_SIZE: '1', HEALTH_POOL_STALL_SECONDS: '1' }, 'api');
});
afterAll(() => service.close());

const get = async (path: string) => {
  const response = await fetch(service.url + path);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

it('a wedged pool keeps /readyz reporting the database up (own connection) and makes /healthz fail until it frees', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const holding = new Promise<void>((resolve) => (held = resolve));
  const holder = service.deps.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT 1`);
    held();
    await released;
  });
  await holding;

  try {
    // The pool has no connection to give, yet the database answers: readiness says so.
    expect((await get('/readyz')).body.checks.database).toBe('ok');
    await vi.waitFor(
      async () => expect(await get('/healthz')).toEqual({ status: 503, body: { status: 'failing', reason: expect.stringMatching(/database pool has handed out no connection/) } }),
      { timeout: 20_000, interval: 200 },
    );
  } finally {
    release();
    await holder;
  }
  await vi.waitFor(async () => expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } }), { timeout: 20_000, interval: 100 });
});
