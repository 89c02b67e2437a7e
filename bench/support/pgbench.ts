import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

export const PGBENCH = process.env.PGBENCH ?? '/usr/bin/pgbench';

export type PgbenchRun = {
  url: string;
  scriptFile: string;
  clients: number;
  /** Worker threads (`-j`); never more than the clients. */
  threads: number;
  seconds: number;
  /** `-D name=value` string variables. */
  defines: Record<string, string>;
  /** `-r`: per-statement average latencies. */
  perStatement?: boolean;
  /** `-M`: prepared (default) or extended (unnamed statements, parsed every time). */
  mode?: 'prepared' | 'extended';
};

export type PgbenchResult = {
  tps: number;
  latencyMs: number;
  processed: number;
  failed: number;
  aborted: boolean;
  /** `-r` lines: average ms and the statement's first line, slowest first. */
  statements: { ms: number; statement: string }[];
  /** CPU seconds (user + system) pgbench itself used, from the shell's `times`; NaN if unknown. */
  cpuSeconds: number;
  output: string;
};

export async function pgbenchVersion(): Promise<string> {
  const { stdout } = await promisify(execFile)(PGBENCH, ['--version']);
  return stdout.trim();
}

/** Runs pgbench (`-n -M prepared` unless told, custom script) and parses its summary. Never throws for a failed run: see `aborted`. */
export function runPgbench(run: PgbenchRun): Promise<PgbenchResult> {
  const args = [
    '-n',
    '-M', run.mode ?? 'prepared',
    '-c', String(run.clients),
    '-j', String(Math.max(1, Math.min(run.threads, run.clients))),
    '-T', String(run.seconds),
    '-f', run.scriptFile,
    ...(run.perStatement ? ['-r'] : []),
    ...Object.entries(run.defines).flatMap(([name, value]) => ['-D', `${name}=${value}`]),
    run.url,
  ];
  return new Promise((resolve, reject) => {
    // Through sh, whose `times` reports the CPU its child (pgbench) used.
    const child = spawn('/bin/sh', ['-c', '"$0" "$@"; status=$?; echo "@@times" >&2; times >&2; exit $status', PGBENCH, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // pgbench stops itself after -T; this only guards against a hang.
    const guard = setTimeout(() => child.kill('SIGKILL'), (run.seconds + 60) * 1000);
    child.once('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(guard);
      const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? Number.NaN);
      resolve({
        tps: number(/^tps = ([\d.]+)/m),
        latencyMs: number(/^latency average = ([\d.]+) ms/m),
        processed: number(/^number of transactions actually processed: (\d+)/m),
        failed: number(/^number of failed transactions: (\d+)/m) || 0,
        aborted: code !== 0 || /Run was aborted/.test(output),
        statements: parseStatementLatencies(output),
        cpuSeconds: parseChildTimes(output),
        output,
      });
    });
  });
}

/** `-r` prints "  <ms>  <failures>  <statement>" under "statement latencies in milliseconds…". */
function parseStatementLatencies(output: string): { ms: number; statement: string }[] {
  const start = output.indexOf('statement latencies in milliseconds');
  if (start < 0) return [];
  const rows: { ms: number; statement: string }[] = [];
  for (const line of output.slice(start).split('\n').slice(1)) {
    const match = /^\s+([\d.]+)\s+(?:\d+\s+)?(.*)$/.exec(line);
    if (match) rows.push({ ms: Number(match[1]), statement: match[2]!.trim() });
  }
  return rows.sort((a, b) => b.ms - a.ms);
}

/** `times` prints the shell's user/system times, then its children's: "0m1.230000s 0m0.450000s". */
function parseChildTimes(output: string): number {
  const lines = output.slice(output.lastIndexOf('@@times')).split('\n');
  const match = /^(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[2] ?? '');
  if (!match) return Number.NaN;
  return Number(match[1]) * 60 + Number(match[2]) + Number(match[3]) * 60 + Number(match[4]);
}
