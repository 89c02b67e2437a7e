import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { projectRoot } from '../../src/paths.js';

/**
 * `main.js worker` in a child process on the test's database (the build in dist/, as in production),
 * so a test can SIGKILL it. `environment` adds variables, e.g. a short REPLAY_JOB_EXPIRE_SECONDS.
 */
export function spawnWorker(databaseUrl: string, environment: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [path.join(projectRoot(), 'dist/src/main.js'), 'worker'], {
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, PORT: '0', LOG_LEVEL: 'warn', DEMO_SEED: 'false', BILLING_GATEWAY: 'synthetic', ...environment },
    stdio: 'ignore',
  });
}

/** SIGKILL: no shutdown, no cleanup, as when the machine or the OOM killer takes the process. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

/** SIGTERM, and wait for the clean exit. */
export async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}
