import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/paths.js';

/**
 * The built program, `node dist/src/main.js <args>`, as a user runs it. `npm test` builds first;
 * a missing or stale build fails loudly rather than testing yesterday's code.
 */
export function builtEntryPoint(): string {
  const root = projectRoot();
  const main = path.join(root, 'dist/src/main.js');
  if (!existsSync(main)) throw new Error('dist/src/main.js is missing: run `npm run build` first (`npm test` does).');
  const built = statSync(main).mtimeMs;
  const newer = sourceFiles(path.join(root, 'src')).find((file) => statSync(file).mtimeMs > built);
  if (newer) throw new Error(`${path.relative(root, newer)} changed after the last build: run \`npm run build\` (\`npm test\` does).`);
  return main;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : [],
  );
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type EntryPointProcess = {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<Exit>;
  /** Ctrl-C in a terminal: SIGINT to the whole process group, not just the program. */
  pressCtrlC(): void;
};

/**
 * Runs the entry point with only the given variables (plus PATH and HOME), so the developer's or CI's
 * own DATABASE_URL, PORT… cannot leak in. It leads its own process group, as a shell's job would.
 */
export function runEntryPoint(args: string[], environment: Record<string, string>): EntryPointProcess {
  const child = spawn(process.execPath, [builtEntryPoint(), ...args], {
    cwd: projectRoot(),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  function waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const done = () => {
        listeners.delete(check);
        clearTimeout(timer);
      };
      const check = () => {
        const match = pattern.exec(output);
        if (match) {
          done();
          resolve(match);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} in the output after ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
      listeners.add(check);
      void exited.then((exit) => {
        check();
        if (listeners.has(check)) {
          done();
          reject(new Error(`exited (${JSON.stringify(exit)}) before printing ${pattern}:\n${output}`));
        }
      });
      check();
    });
  }

  return {
    child,
    output: () => output,
    waitFor,
    exited,
    pressCtrlC: () => process.kill(-child.pid!, 'SIGINT'),
  };
}

/** The program's JSON log lines (pino), skipping the banner and anything else that is not JSON. */
export function logLines(output: string): { level: number; msg: string; [key: string]: unknown }[] {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

/** Stops a process left running by a failed test, so it cannot outlive the run. */
export async function stopIfRunning(process_: EntryPointProcess | undefined): Promise<void> {
  if (!process_ || process_.child.exitCode !== null || process_.child.signalCode !== null) return;
  process_.child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 20_000).unref());
  if ((await Promise.race([process_.exited, timeout])) === 'timeout') process_.child.kill('SIGKILL');
}

/** Stops the embedded Postgres of `dataDir` if a killed program left it behind (it runs in its own session). */
export function stopOrphanedPostgres(dataDir: string): void {
  const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    if (pid > 0) process.kill(pid, 'SIGINT');
  } catch {
    // already gone
  }
}
