import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { localTarget, postJson } from './local-post.js';
import { OTHER, type WebhookLoadResult, type WebhookLoadSpec } from './webhook-load.js';

const spec = workerData as WebhookLoadSpec;
const target = localTarget(spec.url, spec.path);
const agent = new Agent({ keepAlive: true, maxSockets: spec.clients });
const codes = new Map(spec.statuses.map((status, index) => [status, index + 1]));

/** Resolves to an outcome code, or to an error label (anything but a 2xx with a known status). */
async function post(body: string, signature: string): Promise<number | string> {
  const answer = await postJson(agent, target, body, { [spec.signatureHeader]: signature });
  if ('error' in answer) return answer.error;
  let status: unknown;
  try {
    status = (JSON.parse(answer.body) as { status?: unknown }).status;
  } catch {
    status = undefined;
  }
  const ok = answer.status >= 200 && answer.status < 300;
  const code = ok && typeof status === 'string' ? codes.get(status) : undefined;
  return code ?? `HTTP_${answer.status}${typeof status === 'string' ? ` ${status}` : ''}`;
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
