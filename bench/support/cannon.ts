import { runWorker } from './run-worker.js';

/**
 * A run of autocannon (an off-the-shelf HTTP load generator) in a worker thread: `connections` keep-alive
 * connections for `seconds`; with `rate`, requests are paced to that many per second over all of them
 * (so enough connections make it an open loop), else each connection sends as soon as it is answered.
 * With `requests`, each request takes the next body (and headers) of the list, and the run stops when
 * the list is used up (so no invoice or event is sent twice); else every request sends `body`.
 */
export type CannonSpec = {
  url: string;
  headers: Record<string, string>;
  body?: string;
  requests?: { body: string; headers?: Record<string, string> }[];
  connections: number;
  seconds: number;
  rate?: number;
  /** The CPU the load generator's thread is pinned to (bench/support/pin.ts); any CPU when absent. */
  cpu?: number;
};

export type CannonResult = {
  /** Milliseconds, 2xx answers only. */
  accepted: Float64Array;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  timeouts: number;
  errors: number;
  /** Wall time of the run, from its start to its last answer (support/answers.ts). */
  seconds: number;
  /** CPU seconds autocannon's own thread used (Linux; NaN elsewhere), to leave out of the server's. */
  cpuSeconds: number;
};

export function runCannon(spec: CannonSpec): Promise<CannonResult> {
  return runWorker<CannonResult>(new URL('./autocannon-worker.js', import.meta.url), spec, spec.seconds * 1000, 'autocannon');
}

/**
 * An open loop at `spec.rate` requests/s as smooth as autocannon allows: autocannon paces each connection
 * on its own timer, all started together, so one instance sends its connections' requests in bursts.
 * `streams` instances (threads), each with its share of connections and rate, started staggered over one
 * pacing period, turn one burst per period into `streams` small ones.
 */
export async function runPacedCannon(spec: CannonSpec & { rate: number }, streams: number): Promise<CannonResult> {
  const connections = Math.max(1, Math.round(spec.connections / streams));
  const rate = spec.rate / streams;
  const periodMs = (connections / rate) * 1000;
  const results = await Promise.all(
    Array.from({ length: streams }, async (_, index) => {
      await new Promise((resolve) => setTimeout(resolve, (index * periodMs) / streams));
      return runCannon({ ...spec, connections, rate });
    }),
  );
  const statuses: Record<string, number> = {};
  for (const result of results) for (const [status, count] of Object.entries(result.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  return {
    accepted: Float64Array.from(results.flatMap((result) => [...result.accepted])),
    statuses,
    timeouts: results.reduce((total, result) => total + result.timeouts, 0),
    errors: results.reduce((total, result) => total + result.errors, 0),
    seconds: Math.max(...results.map((result) => result.seconds)),
    cpuSeconds: results.reduce((total, result) => total + result.cpuSeconds, 0),
  };
}
