import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { OTHER, type WebhookLoadResult, type WebhookLoadSpec } from './webhook-load.js';

const spec = workerData as WebhookLoadSpec;
const target = new URL(spec.path, spec.url);
if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') throw new Error(`refusing to load ${target.hostname}: local only`);
const agent = new Agent({ keepAlive: true, maxSockets: spec.clients });
const codes = new Map(spec.statuses.map((status, index) => [status, index + 1]));

/** Resolves to an outcome code, or to an error label (anything but a 2xx with a known status). */
function post(body: string, signature: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), [spec.signatureHeader]: signature },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          let status: unknown;
          try {
            status = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status?: unknown }).status;
          } catch {
            status = undefined;
          }
          const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
          const code = ok && typeof status === 'string' ? codes.get(status) : undefined;
          resolve(code ?? `HTTP_${res.statusCode}${typeof status === 'string' ? ` ${status}` : ''}`);
        });
        res.on('error', () => resolve('RESPONSE_ERROR'));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'REQUEST_ERROR'));
    req.end(body);
  });
}

async function main(): Promise<WebhookLoadResult> {
  const total = spec.deliveries.length;
  const outcomes = new Uint8Array(total);
  const latencies = new Float64Array(total).fill(Number.NaN);
  const errors: Record<string, number> = {};
  let next = 0;
  let sent = 0;
  let stoppedBy: WebhookLoadResult['stoppedBy'] = 'deadline';
  const loopStart = performance.eventLoopUtilization();
  const started = performance.now();
  const deadline = started + spec.durationMs;

  async function client(): Promise<void> {
    for (;;) {
      if (performance.now() >= deadline) return;
      if (next >= spec.maxRequests) {
        stoppedBy = 'maxRequests';
        return;
      }
      if (next >= total) {
        stoppedBy = 'deliveries exhausted';
        return;
      }
      const index = next++;
      const delivery = spec.deliveries[index]!;
      const begun = performance.now();
      const answer = await post(delivery.body, delivery.signature);
      latencies[index] = performance.now() - begun;
      sent++;
      if (typeof answer === 'number') outcomes[index] = answer;
      else {
        outcomes[index] = OTHER;
        errors[answer] = (errors[answer] ?? 0) + 1;
      }
    }
  }

  await Promise.all(Array.from({ length: spec.clients }, client));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return { sent, outcomes, latencies, errors, elapsedMs, clientLoopBusy: performance.eventLoopUtilization(loopStart).utilization, stoppedBy };
}

const result = await main();
parentPort!.postMessage(result, [result.outcomes.buffer as ArrayBuffer, result.latencies.buffer as ArrayBuffer]);
