import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

type ProcessStat = { pid: number; name: string; parent: number; ownTicks: number; reapedChildrenTicks: number };

/** One process's /proc/<pid>/stat, or undefined when it has ended (or there is no /proc). */
function stat(pid: number | string): ProcessStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "(comm)": state [0], ppid [1], … utime [11], stime [12], cutime [13], cstime [14].
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      pid: Number(pid),
      name: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')),
      parent: Number(fields[1]),
      ownTicks: Number(fields[11]) + Number(fields[12]),
      reapedChildrenTicks: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}

/** Every process on the machine, as /proc shows it now. */
export function processStats(): ProcessStat[] {
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  return pids.map(stat).filter((entry): entry is ProcessStat => entry !== undefined);
}

export const ticksToSeconds = (ticks: number) => ticks / TICKS_PER_SECOND;

/** utime + stime of one process, in seconds (all its threads); NaN once it has ended. */
export function processCpuSeconds(pid: number): number {
  const entry = stat(pid);
  return entry ? ticksToSeconds(entry.ownTicks) : Number.NaN;
}

/** utime + stime of the calling thread, in seconds (Linux's /proc/thread-self; NaN elsewhere). */
export function threadCpuSeconds(): number {
  const entry = stat('thread-self');
  return entry ? ticksToSeconds(entry.ownTicks) : Number.NaN;
}

/**
 * CPU seconds used so far by one Postgres cluster: the postmaster and its children, with the children
 * it has reaped (so backends of closed connections count). Other clusters on the machine do not.
 */
export function clusterCpuSeconds(postmasterPid: number): number {
  let ticks = 0;
  for (const entry of processStats()) {
    if (entry.pid === postmasterPid) ticks += entry.ownTicks + entry.reapedChildrenTicks;
    else if (entry.parent === postmasterPid) ticks += entry.ownTicks;
  }
  return ticksToSeconds(ticks);
}

/** Busy CPU seconds of the whole machine, all cores together (from /proc/stat; NaN elsewhere). */
export function machineBusySeconds(): number {
  try {
    const [line] = readFileSync('/proc/stat', 'utf8').split('\n');
    const fields = line!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    return ticksToSeconds(fields.slice(0, 8).reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0));
  } catch {
    return Number.NaN;
  }
}
