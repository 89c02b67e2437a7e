import { Worker } from 'node:worker_threads';

/**
 * Runs a load-generating worker thread that stops by itself at its deadline and posts one result.
 * The guard only covers a hung request: the thread is ended a minute after the deadline.
 */
export function runWorker<Result>(script: URL, workerData: unknown, durationMs: number, label: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData });
    let settled = false;
    const guard = setTimeout(() => void worker.terminate(), durationMs + 60_000);
    worker.once('message', (result: Result) => {
      settled = true;
      clearTimeout(guard);
      resolve(result);
    });
    worker.once('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
    worker.once('exit', (code) => {
      clearTimeout(guard);
      if (!settled) reject(new Error(`${label} worker exited with code ${code} before reporting`));
    });
  });
}
