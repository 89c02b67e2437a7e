import { performance } from 'node:perf_hooks';
import type autocannon from 'autocannon';
import type { CannonResult } from './cannon.js';
import { threadCpuSeconds } from './cpu.js';

/**
 * What a load-generating thread reports of one autocannon run: answers by status, 2xx latencies, and the
 * run's time and the thread's own CPU. Call it right after starting `instance`, then `report` its result.
 *
 * The time is taken here, from the start to the last answer, not from autocannon's `duration`: autocannon
 * reports a run only at its next one-second sampling tick, so a run that ends by using up its list of
 * requests has its duration rounded up by up to a second (a 3.1 s phase counted as 4 s: a rate 25% low).
 */
export function recordAnswers(instance: autocannon.Instance): { report(result: autocannon.Result): CannonResult } {
  const cpuAtStart = threadCpuSeconds();
  const startedAt = performance.now();
  let lastAnswerAt = startedAt;
  const accepted: number[] = [];
  const statuses: Record<string, number> = {};
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    lastAnswerAt = performance.now();
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) accepted.push(responseTime);
  });
  return {
    report: (result) => ({
      accepted: Float64Array.from(accepted),
      statuses,
      timeouts: result.timeouts,
      errors: result.errors,
      seconds: (lastAnswerAt - startedAt) / 1000,
      cpuSeconds: threadCpuSeconds() - cpuAtStart,
    }),
  };
}
