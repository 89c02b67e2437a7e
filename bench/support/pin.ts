import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

/**
 * CPU pinning with taskset (util-linux), so that a load generator on the same machine does not take the
 * CPU of the service it measures: the service's thread and Postgres on one core, the load generator's
 * threads on the other, as if it ran elsewhere. Linux only.
 */
export function pinThisThread(cpu: number): void {
  // /proc/thread-self names this thread (a worker thread's id is not its process's).
  const tid = readlinkSync('/proc/thread-self').split('/').at(-1)!;
  execFileSync('taskset', ['-p', '-c', String(cpu), tid], { stdio: 'ignore' });
}

/** A process and its children (for Postgres: the postmaster, whose later backends inherit its CPU). */
export function pinProcessTree(pid: number, cpu: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  for (const child of children ? children.split(/\s+/).map(Number) : []) pinProcessTree(child, cpu);
}
