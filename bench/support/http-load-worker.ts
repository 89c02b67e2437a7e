import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { LoadResult, LoadSpec } from './http-load.js';
import { localTarget, postJson } from './local-post.js';

const spec = workerData as LoadSpec;
const target = localTarget(spec.url, '/graphql');
const agent = new Agent({ keepAlive: true, maxSockets: spec.clients });

type Answer = { ok: true } | { ok: false; code: string };

async function post(body: string): Promise<Answer> {
  const answer = await postJson(agent, target, body, { authorization: `Bearer ${spec.token}` });
  if ('error' in answer) return { ok: false, code: answer.error };
  try {
    const parsed = JSON.parse(answer.body) as { data?: { captureInvoice?: unknown } | null; errors?: { extensions?: { code?: string } }[] };
    if (parsed.errors?.length) return { ok: false, code: parsed.errors[0]?.extensions?.code ?? 'UNKNOWN' };
    if (parsed.data?.captureInvoice) return { ok: true };
    return { ok: false, code: `HTTP_${answer.status}` };
  } catch {
    return { ok: false, code: `HTTP_${answer.status}_NOT_JSON` };
  }
}

async function main(): Promise<LoadResult> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  let issued = 0;
  let nextInvoice = 0;
  let stoppedBy: LoadResult['stoppedBy'] = 'deadline';
  const loopStart = performance.eventLoopUtilization();
  const started = performance.now();
  const deadline = started + spec.durationMs;

  const nextInvoiceId = (): string | undefined => {
    if (spec.target.kind === 'hot') return spec.target.invoiceId;
    return spec.target.invoiceIds[nextInvoice++];
  };

  async function client(): Promise<void> {
    for (;;) {
      if (performance.now() >= deadline) return;
      if (issued >= spec.maxRequests) {
        stoppedBy = 'maxRequests';
        return;
      }
      const invoiceId = nextInvoiceId();
      if (!invoiceId) {
        stoppedBy = 'invoices exhausted';
        return;
      }
      issued++;
      const input: Record<string, unknown> = { invoiceId, idempotencyKey: randomUUID() };
      if (spec.amount !== null) input.amount = spec.amount;
      const body = JSON.stringify({ query: spec.query, variables: { input } });
      const sent = performance.now();
      const answer = await post(body);
      if (answer.ok) {
        latencies.push(performance.now() - sent);
        ok++;
      } else {
        errors[answer.code] = (errors[answer.code] ?? 0) + 1;
      }
    }
  }

  await Promise.all(Array.from({ length: spec.clients }, client));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return {
    ok,
    errors,
    latencies: Float64Array.from(latencies),
    elapsedMs,
    clientLoopBusy: performance.eventLoopUtilization(loopStart).utilization,
    stoppedBy,
  };
}

const result = await main();
parentPort!.postMessage(result, [result.latencies.buffer as ArrayBuffer]);
