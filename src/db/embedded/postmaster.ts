import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import path from 'node:path';

/**
 * What `<cluster>/postmaster.pid` says about a Postgres that may still be running: its pid and port
 * (lines 1 and 4 of the file), whether that pid is a live postgres, and whether anything still owns it.
 */
export type Postmaster = { pid: number; port: number; alive: boolean; orphaned: boolean };

export function readPostmaster(clusterDir: string): Postmaster | undefined {
  const file = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!(pid > 0)) return { pid: 0, port, alive: false, orphaned: true };
  const alive = isLivePostgres(pid);
  return { pid, port, alive, orphaned: alive && !hasLiveNodeParent(pid) };
}

/** A live, non-zombie process whose command is postgres: a pid reused by something else is not. */
function isLivePostgres(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procFile(pid, 'stat');
  if (stat === undefined) return true; // no /proc: trust the signal
  if (statField(stat, 'state') === 'Z') return false;
  return (procFile(pid, 'cmdline') ?? '').includes('postgres');
}

/**
 * We start Postgres as a child of our node process (in a session of its own). When that process dies,
 * Postgres is re-parented (to init or a subreaper): a postmaster whose parent is no node process is
 * one nothing will stop. Without /proc it counts as owned, which is what sharing it assumed before.
 */
function hasLiveNodeParent(pid: number): boolean {
  const stat = procFile(pid, 'stat');
  if (stat === undefined) return true;
  const parent = Number(statField(stat, 'ppid'));
  if (parent <= 1) return false;
  const command = (procFile(parent, 'cmdline') ?? '').split('\0')[0] ?? '';
  return path.basename(command).startsWith('node');
}

function procFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** `/proc/<pid>/stat`: "pid (comm) state ppid …"; comm may hold spaces, so split after its last ')'. */
function statField(stat: string, field: 'state' | 'ppid'): string | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return field === 'state' ? rest[0] : rest[1];
}

/**
 * Stops a Postgres we did not start (so cannot wait on as a child): a fast shutdown (SIGINT), then
 * waits until it is gone, 30 s at most.
 */
export async function stopPostmaster(clusterDir: string, pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
    throw error;
  }
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (!readPostmaster(clusterDir)?.alive) return;
    await delay(100);
  }
  throw new Error(`the embedded Postgres (pid ${pid}) did not stop within 30 s after SIGINT; stop it by hand: kill -INT ${pid}`);
}
