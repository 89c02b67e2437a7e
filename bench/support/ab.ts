import os from 'node:os';
import { processStats } from './cpu.js';
import { PhaseProfiler } from './profile.js';
import { percentile } from './stats.js';
import { fixed, formatTable } from './table.js';

/**
 * The A/B runner every throughput benchmark shares. For each case (a scenario at some client count),
 * each repetition runs the service's phase and then its baseline's, back to back, so that whatever
 * else the machine is doing lands on both; the ratio service ÷ baseline is taken per repetition, and
 * min / median / max of the ratios is what it prints. Absolute rates on a shared machine are noise;
 * ratios measured side by side are the figures.
 */
export type PhaseResult = {
  /** Requests that did what they should (counted in the database, not from HTTP statuses alone). */
  done: number;
  seconds: number;
  /** 2xx latencies, ms. */
  latencies: Float64Array;
  /** SQL statements per done request (pg_stat_statements, BEGIN/COMMIT not counted). */
  statements: number;
  /** CPU per done request, ms: the server's process (its load generator's thread left out) and Postgres's. */
  cpuMs?: { server: number; postgres: number };
  /** Calls per done request, by statement (pg_stat_statements' normalized text). */
  byStatement: Map<string, number>;
  /** Anything that went wrong (non-2xx, wrong rows): printed, and the bench exits 1. */
  problems: string[];
};

export type Case = { label: string; service: () => Promise<PhaseResult>; baseline: () => Promise<PhaseResult> };

type Row = { label: string; service: PhaseResult[]; baseline: PhaseResult[] };

export async function runAB(title: string, unit: string, cases: Case[], repetitions: number, profileFile?: string): Promise<number> {
  const profiler = profileFile ? new PhaseProfiler(profileFile) : undefined;
  const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
  const before = machineLoad();
  const rows: Row[] = [];
  for (const entry of cases) {
    const row: Row = { label: entry.label, service: [], baseline: [] };
    for (let rep = 1; rep <= repetitions; rep++) {
      // Alternate which goes first, so that neither always follows the other's leftovers.
      const order = rep % 2 === 1 ? (['service', 'baseline'] as const) : (['baseline', 'service'] as const);
      for (const side of order) {
        log(`${entry.label}, repetition ${rep}/${repetitions}: ${side}…`);
        row[side].push(await (profiler && side === 'service' ? profiler.during(entry.service) : entry[side]()));
      }
    }
    rows.push(row);
  }
  const after = machineLoad();
  profiler?.write();
  const rate = (phase: PhaseResult) => phase.done / phase.seconds;
  const median = (values: number[]) => percentile(Float64Array.from(values).sort(), 50);
  const all = (phases: PhaseResult[]) => Float64Array.from(phases.flatMap((phase) => [...phase.latencies])).sort();
  const withCpu = rows.some((row) => row.service.some((phase) => phase.cpuMs));
  const cpu = (phases: PhaseResult[]) =>
    `${fixed(median(phases.map((phase) => phase.cpuMs?.server ?? Number.NaN)), 2)} + ${fixed(median(phases.map((phase) => phase.cpuMs?.postgres ?? Number.NaN)), 2)}`;
  const table = rows.map((row) => {
    const ratios = row.service.map((phase, index) => rate(phase) / rate(row.baseline[index]!)).sort((a, b) => a - b);
    const [service, baseline] = [all(row.service), all(row.baseline)];
    return [
      row.label,
      fixed(median(row.service.map(rate)), 0),
      `${fixed(percentile(service, 50))} / ${fixed(percentile(service, 99))}`,
      fixed(median(row.baseline.map(rate)), 0),
      `${fixed(percentile(baseline, 50))} / ${fixed(percentile(baseline, 99))}`,
      `${fixed(ratios[0]!, 2)} / ${fixed(median(ratios), 2)} / ${fixed(ratios[ratios.length - 1]!, 2)}`,
      `${fixed(median(row.service.map((phase) => phase.statements)))} / ${fixed(median(row.baseline.map((phase) => phase.statements)))}`,
      ...(withCpu ? [`${cpu(row.service)} / ${cpu(row.baseline)}`] : []),
    ];
  });
  console.log(`\n${title} — ${new Date().toISOString()}, ${repetitions} repetitions, A/B interleaved`);
  console.log(`machine before: ${before}\nmachine after:  ${after}\n`);
  console.log(
    formatTable(
      [
        'case',
        `service ${unit}/s`,
        'p50 / p99 ms',
        `baseline ${unit}/s`,
        'p50 / p99 ms',
        'ratio min / median / max',
        'SQL per request svc / base',
        ...(withCpu ? ['CPU ms per request svc / base (server + Postgres)'] : []),
      ],
      table,
    ),
  );
  console.log(`rates: median of the repetitions; latencies: over all of them; ratio = service ÷ baseline, per repetition`);
  if (withCpu) console.log(`CPU: medians of the repetitions; the server's process without the load generator's thread, and the Postgres cluster`);
  for (const row of rows) {
    // The honesty check: statements the two sides do not run equally often.
    const [service, baseline] = [row.service.at(-1)!.byStatement, row.baseline.at(-1)!.byStatement];
    const differing = [...new Set([...service.keys(), ...baseline.keys()])]
      .map((text) => ({ text, service: service.get(text) ?? 0, baseline: baseline.get(text) ?? 0 }))
      .filter((entry) => Math.abs(entry.service - entry.baseline) >= 0.05)
      .sort((a, b) => Math.abs(b.service - b.baseline) - Math.abs(a.service - a.baseline));
    if (differing.length) console.log(`\n${row.label}: statements run unequally (calls per request, service / baseline, last repetition)`);
    for (const entry of differing.slice(0, 12)) console.log(`  ${fixed(entry.service, 2).padStart(5)} / ${fixed(entry.baseline, 2).padEnd(5)} ${entry.text.replace(/\s+/g, ' ').slice(0, 110)}`);
  }
  const problems = rows.flatMap((row) => [...row.service, ...row.baseline].flatMap((phase) => phase.problems.map((problem) => `${row.label}: ${problem}`)));
  for (const problem of problems) console.log(`PROBLEM ${problem}`);
  return problems.length ? 1 : 0;
}

/** The machine's other load: load average, and the processes (not this one) that used the most CPU over a second. */
function machineLoad(): string {
  const cores = os.cpus().length;
  const load = os.loadavg().map((value) => value.toFixed(2)).join(' ');
  const first = processTicks();
  const wait = Date.now() + 1000;
  while (Date.now() < wait) {
    // A busy second is fine here: the bench is between phases.
  }
  const second = processTicks();
  const busy = [...second]
    .map(([pid, { name, ticks }]) => ({ pid, name, cores: (ticks - (first.get(pid)?.ticks ?? ticks)) / 100 }))
    .filter((entry) => entry.pid !== process.pid && entry.cores >= 0.05)
    .sort((a, b) => b.cores - a.cores);
  const total = busy.reduce((sum, entry) => sum + entry.cores, 0);
  const top = busy.slice(0, 4).map((entry) => `${entry.name} ${entry.cores.toFixed(2)}`).join(', ');
  return `${cores} cores, load average ${load}; other processes ${total.toFixed(2)} cores${top ? ` (${top})` : ''}`;
}

function processTicks(): Map<number, { name: string; ticks: number }> {
  return new Map(processStats().map((entry) => [entry.pid, { name: entry.name, ticks: entry.ownTicks }]));
}
