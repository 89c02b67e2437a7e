import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU used by this Node process (all its threads), in seconds. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/**
 * CPU seconds used so far by one Postgres cluster: the postmaster and its children (utime + stime +
 * cutime + cstime, so backends of closed connections count through the postmaster that reaped them).
 * Other clusters on the machine (e.g. test runs) are not counted.
 */
export function clusterCpuSeconds(postmasterPid: number): number {
  let total = 0;
  for (const pid of safeReaddir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "(comm)": state [0], ppid [1], … utime [11], stime [12], cutime [13], cstime [14].
    if (Number(pid) !== postmasterPid && Number(fields[1]) !== postmasterPid) continue;
    total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / clockTicks();
  }
  return total;
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Busy CPU seconds of the whole machine, all cores together (from /proc/stat; NaN elsewhere). */
export function machineBusySeconds(): number {
  try {
    const [line] = readFileSync('/proc/stat', 'utf8').split('\n');
    const fields = line!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
    const busy = fields.slice(0, 8).reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0);
    return busy / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/**
 * This process's main thread (the service's event loop): seconds on a CPU, and seconds it was ready to
 * run but waiting for one (from /proc/self/task/<pid>/schedstat; NaN elsewhere).
 */
export function mainThreadSchedule(): { onCpu: number; waiting: number } {
  try {
    const [onCpu, waiting] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { onCpu: onCpu! / 1e9, waiting: waiting! / 1e9 };
  } catch {
    return { onCpu: Number.NaN, waiting: Number.NaN };
  }
}
