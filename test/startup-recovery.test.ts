import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { firstUnreachableFolder, postgresUser } from '../src/db/embedded/postgres-user.js';
import { logLines, runEntryPoint, stopIfRunning, stopOrphanedPostgres, type EntryPointProcess } from './support/entry-point.js';
import { freePort } from './support/ports.js';

/** Signals at any moment of start-up, and a start after a crash left the embedded Postgres behind. */

const BANNER = /GraphQL API and IDE\s+(http:\/\/\S+)\/graphql/;
const STOP_ORDER = ['http server stopped', 'pg-boss stopped', 'gateway stopped', 'database pool stopped', 'embedded postgres stopped'];

let dataDir: string;
let running: EntryPointProcess | undefined;
const environment = async (extra: Record<string, string> = {}) => ({
  DATA_DIR: dataDir,
  PORT: String(await freePort()),
  EMBEDDED_PG_PORT: String(await freePort()),
  LOG_LEVEL: 'info',
  ...extra,
});

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'billing-ledger-recovery-'));
  await chmod(dataDir, 0o755); // as root, Postgres runs as the `postgres` user and must reach its folder
});
afterEach(async () => {
  await stopIfRunning(running);
  running = undefined;
});
afterAll(async () => {
  stopOrphanedPostgres(dataDir);
  await rm(dataDir, { recursive: true, force: true });
});

const pidFile = () => path.join(dataDir, 'pg', 'postmaster.pid');
const postgresPid = () => Number(readFileSync(pidFile(), 'utf8').split('\n')[0]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const stopped = (output: string) => logLines(output).map((line) => line.msg).filter((msg) => msg.endsWith(' stopped'));
const warnings = (output: string) => logLines(output).filter((line) => line.level === 40).map((line) => line.msg);

async function expectCleanStop(process_: EntryPointProcess) {
  expect(await process_.exited).toEqual({ code: 0, signal: null });
  expect(existsSync(pidFile()), 'the embedded Postgres is stopped').toBe(false);
}

describe('a signal during start-up', () => {
  it('SIGTERM right after the embedded Postgres started: stops what started, in order, exit 0, nothing left running', async () => {
    running = runEntryPoint(['start'], await environment());
    await running.waitFor(/"msg":"embedded postgres started"/);
    running.child.kill('SIGTERM');
    await expectCleanStop(running);
    expect(running.output()).not.toMatch(BANNER);
    expect(stopped(running.output())).toContain('embedded postgres stopped');
  }, 120_000);

  it('Ctrl-C pressed again while it stops: logged, and the stop goes on in order', async () => {
    running = runEntryPoint(['start'], await environment());
    await running.waitFor(BANNER);
    running.pressCtrlC();
    await running.waitFor(/"msg":"shutting down/);
    running.pressCtrlC();
    await expectCleanStop(running);
    expect(logLines(running.output()).map((line) => line.msg)).toContain('already shutting down');
    expect(stopped(running.output())).toEqual(STOP_ORDER);
  }, 120_000);
});

describe('an embedded Postgres left behind by a crash', () => {
  it('is reused when it runs on the configured port, says so, and is stopped with the process', async () => {
    const env = await environment();
    const crashed = runEntryPoint(['start'], env);
    await crashed.waitFor(BANNER);
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    const orphan = postgresPid();
    expect(alive(orphan)).toBe(true);

    running = runEntryPoint(['start'], { ...env, PORT: String(await freePort()) });
    await running.waitFor(BANNER);
    expect(warnings(running.output())).toContainEqual(expect.stringMatching(new RegExp(`left running by an earlier run \\(pid ${orphan}, .*reusing it`)));
    running.child.kill('SIGTERM');
    await expectCleanStop(running);
    expect(alive(orphan)).toBe(false);
  }, 120_000);

  it('is stopped and started again when it runs on another port, saying so', async () => {
    const crashed = runEntryPoint(['start'], await environment());
    await crashed.waitFor(BANNER);
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    const orphan = postgresPid();

    running = runEntryPoint(['start'], await environment());
    await running.waitFor(BANNER);
    expect(warnings(running.output())).toContainEqual(expect.stringMatching(new RegExp(`left running by an earlier run \\(pid ${orphan}, .*stopping it`)));
    expect(alive(orphan)).toBe(false);
    running.child.kill('SIGTERM');
    await expectCleanStop(running);
  }, 120_000);

  it('leaves a pid file of a dead process: removed, saying so, and the start goes on', async () => {
    const crashed = runEntryPoint(['start'], await environment());
    await crashed.waitFor(BANNER);
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    const orphan = postgresPid();
    const pidFileText = readFileSync(pidFile(), 'utf8');
    process.kill(orphan, 'SIGINT');
    while (existsSync(pidFile()) || alive(orphan)) await new Promise((resolve) => setTimeout(resolve, 50));
    // What a power cut leaves: the file, naming a process that no longer exists.
    const deadPid = 2 ** 22 - 7;
    await writeFile(pidFile(), pidFileText.replace(/^\d+/, String(deadPid)));

    running = runEntryPoint(['start'], await environment());
    await running.waitFor(BANNER);
    expect(warnings(running.output())).toContainEqual(expect.stringMatching(new RegExp(`removed the postmaster.pid left by an earlier run \\(pid ${deadPid} is not running\\)`)));
    running.child.kill('SIGTERM');
    await expectCleanStop(running);
  }, 120_000);
});

describe('a start-up failure', () => {
  it('prints what went wrong, with the last messages of the embedded Postgres, and exits 1', async () => {
    const broken = await mkdtemp(path.join(tmpdir(), 'billing-ledger-broken-'));
    try {
      await chmod(broken, 0o755);
      // A cluster folder that says it is one, and holds nothing else.
      await mkdir(path.join(broken, 'pg'), { mode: 0o700 });
      await writeFile(path.join(broken, 'pg', 'PG_VERSION'), '18\n');
      running = runEntryPoint(['start'], { ...(await environment()), DATA_DIR: broken });
      expect(await running.exited).toEqual({ code: 1, signal: null });
      expect(running.output()).toMatch(/The embedded Postgres did not start \(cluster \S+, port \d+\): .+\nIts last messages:\n {2}\S/);
      expect(running.output()).not.toMatch(/^undefined$/m);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  }, 120_000);
});

describe.runIf(process.getuid?.() === 0)('as root', () => {
  it('a folder the postgres user cannot enter is found, folder by folder', async () => {
    const closed = await mkdtemp(path.join(tmpdir(), 'billing-ledger-closed-'));
    try {
      expect((await stat(closed)).mode & 0o777).toBe(0o700);
      expect(firstUnreachableFolder(path.join(closed, 'data', 'pg'), postgresUser())).toMatchObject({ folder: closed, mode: '700' });
      await chmod(closed, 0o711);
      expect(firstUnreachableFolder(path.join(closed, 'data', 'pg'), postgresUser())).toBeUndefined();
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  });

  it('with DATA_DIR in a folder the postgres user cannot enter (mktemp -d), keeps the cluster where it can, says where, and stops cleanly', async () => {
    const closed = await mkdtemp(path.join(tmpdir(), 'billing-ledger-closed-'));
    let clusterDir: string | undefined;
    try {
      running = runEntryPoint(['start'], { ...(await environment()), DATA_DIR: closed });
      await running.waitFor(BANNER);
      const notice = warnings(running.output()).find((msg) => msg.includes('cannot enter'));
      expect(notice).toMatch(new RegExp(`cannot enter ${closed} \\(mode 700\\), so the embedded Postgres keeps its cluster in (/var/lib/billing-ledger/\\w+/pg)`));
      clusterDir = /keeps its cluster in (\S+)/.exec(notice!)![1]!;
      expect(existsSync(path.join(clusterDir, 'PG_VERSION'))).toBe(true);
      running.child.kill('SIGTERM');
      expect(await running.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(path.join(clusterDir, 'postmaster.pid'))).toBe(false);
    } finally {
      await stopIfRunning(running);
      await rm(closed, { recursive: true, force: true });
      if (clusterDir) await rm(path.dirname(clusterDir), { recursive: true, force: true });
    }
  }, 120_000);
});
