import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { logDestination } from '../../src/logger.js';
import { runEntryPoint, stopIfRunning, stopOrphanedPostgres, type EntryPointProcess } from '../support/entry-point.js';
import { freePort } from '../support/ports.js';
import { csrfOf, DashboardClient } from './client.js';

/** `npm start` on a fresh machine, as a developer runs it: the embedded database, readable logs. */
const BANNER = /billing center\s+(http:\/\/\S+)\/dashboard[\s\S]*operator token\s+(blt_\S+)/;

let dataDir: string;
let running: EntryPointProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'billing-ledger-dashboard-'));
  await chmod(dataDir, 0o755); // as root, Postgres runs as the `postgres` user and must reach its folder
});
afterAll(async () => {
  await stopIfRunning(running);
  stopOrphanedPostgres(dataDir);
  await rm(dataDir, { recursive: true, force: true });
});

it('on the embedded database, the sign-in page and the IDE offer the development operator token; logs read as lines', async () => {
  running = runEntryPoint(['start'], {
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    EMBEDDED_PG_PORT: String(await freePort()),
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'pretty',
  });
  const [, url, token] = await running.waitFor(BANNER, 90_000);

  const client = new DashboardClient(url!);
  const signIn = await client.get('/dashboard/sign-in');
  expect(signIn.html).toContain('Sign in with the development operator token');
  // Offered by the server on demand, never written into the page.
  expect(signIn.html).not.toContain(token);
  const done = await client.post('/dashboard/sign-in', { _csrf: csrfOf(signIn.html), useDevToken: '1', next: '/dashboard/replays' });
  expect(done.status).toBe(303);
  const queue = await client.get('/dashboard/replays');
  expect(queue.status).toBe(200);
  expect(queue.html).toContain('Signed in: operator');

  const ide = await (await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } })).text();
  expect(ide).toContain(token);

  // pino-pretty's lines: level, message, and the same fields as the JSON line.
  expect(running.output()).toMatch(/INFO.*: embedded postgres started\n\s+service: "billing-ledger"\n[\s\S]*dataDir: /);
  expect(running.output()).not.toMatch(/^\{"level":/m);
  running.pressCtrlC();
  expect(await running.exited).toEqual({ code: 0, signal: null });
}, 120_000);

it('writes JSON lines unless standard output is a terminal in development, or asked', () => {
  expect(logDestination('auto', true, false)).toBeUndefined();
  expect(logDestination('auto', false, true)).toBeUndefined();
  expect(logDestination('json', true, true)).toBeUndefined();
  expect(logDestination('auto', true, true)).toBeDefined();
  expect(logDestination('pretty', false, false)).toBeDefined();
});
