import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_INVOICES } from '../src/domain/seed/demo-seed.js';
import { logLines, runEntryPoint, stopIfRunning, stopOrphanedPostgres, type EntryPointProcess } from './support/entry-point.js';
import { graphql } from './support/graphql.js';
import { freePort } from './support/ports.js';

/** `npm start` on a fresh machine: node dist/src/main.js start, no DATABASE_URL, an empty data folder. */

const QUERY = '{ invoices(first: 5) { edges { node { id status amountDue currency } } } }';
const BANNER = /GraphQL API and IDE\s+(http:\/\/\S+)\/graphql[\s\S]*operator token\s+(blt_\S+)/;
const STOP_ORDER = ['http server stopped', 'pg-boss stopped', 'gateway stopped', 'database pool stopped', 'embedded postgres stopped'];
const demoIds = DEMO_INVOICES.map((invoice) => invoice.id as string);

let dataDir: string;
let environment: Record<string, string>;
let running: EntryPointProcess | undefined;
let firstToken: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'billing-ledger-start-'));
  await chmod(dataDir, 0o755); // as root, Postgres runs as the `postgres` user and must reach its folder
  environment = { DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: 'info' };
});
afterAll(async () => {
  await stopIfRunning(running);
  stopOrphanedPostgres(dataDir);
  await rm(dataDir, { recursive: true, force: true });
});

/** What the shutdown logged, in order, and anything logged as an error meanwhile. */
function shutdownLog(output: string) {
  const lines = logLines(output);
  const from = lines.findIndex((line) => line.msg.startsWith('shutting down'));
  const shutdown = lines.slice(from);
  return {
    stopped: shutdown.map((line) => line.msg).filter((msg) => msg.endsWith(' stopped')),
    // With the error's own message, so a failure says what went wrong.
    errors: shutdown.filter((line) => line.level >= 50).map((line) => `${line.msg}: ${(line.err as { message?: string } | undefined)?.message ?? ''}`),
  };
}

// The second test starts again on the folder the first one left behind.
describe('the real entry point on an empty data folder', () => {
  it('starts an embedded Postgres, seeds the demo, answers with the printed token, and stops in order on Ctrl-C', async () => {
    expect(await readdir(dataDir)).toEqual([]);
    running = runEntryPoint(['start'], environment);
    const [, url, token] = await running.waitFor(BANNER);
    firstToken = token!;

    const response = await graphql(url!, QUERY, {}, token);
    expect(response.errors).toBeUndefined();
    const nodes = response.data.invoices.edges.map((edge: any) => edge.node);
    expect(nodes).toHaveLength(5);
    for (const node of nodes) {
      const seeded = DEMO_INVOICES.find((invoice) => invoice.id === node.id);
      expect(seeded, `${node.id} is not a demo invoice`).toBeDefined();
      expect(node).toEqual({ id: seeded!.id, status: 'OPEN', amountDue: seeded!.amountDue, currency: seeded!.currency });
    }
    expect((await readFile(path.join(dataDir, 'dev-operator-token'), 'utf8')).trim()).toBe(token);
    expect(logLines(running.output()).map((line) => line.msg)).toContain('demo data seeded into the empty database');

    running.pressCtrlC();
    expect(await running.exited).toEqual({ code: 0, signal: null });
    expect(shutdownLog(running.output())).toEqual({ stopped: STOP_ORDER, errors: [] });
  }, 120_000);

  it('starts again on the same folder: same data, same token, no second seed; SIGTERM stops it in order', async () => {
    running = runEntryPoint(['start'], environment);
    const [, url, token] = await running.waitFor(BANNER);
    expect(token).toBe(firstToken);
    expect(logLines(running.output()).map((line) => line.msg)).not.toContain('demo data seeded into the empty database');

    const response = await graphql(url!, '{ invoices(first: 100) { edges { node { id } } } }', {}, token);
    expect(response.data.invoices.edges.map((edge: any) => edge.node.id).sort()).toEqual([...demoIds].sort());

    running.child.kill('SIGTERM');
    expect(await running.exited).toEqual({ code: 0, signal: null });
    expect(shutdownLog(running.output())).toEqual({ stopped: STOP_ORDER, errors: [] });
  }, 120_000);
});

describe('a bad configuration value', () => {
  it('stops start-up with a non-zero exit and a message naming the variable', async () => {
    const emptyDir = await mkdtemp(path.join(tmpdir(), 'billing-ledger-badconfig-'));
    try {
      running = runEntryPoint(['start'], { DATA_DIR: emptyDir, PORT: 'abc' });
      const exit = await running.exited;
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(running.output()).toMatch(/PORT: /);
      expect(await readdir(emptyDir), 'nothing was started').toEqual([]);
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });
});
