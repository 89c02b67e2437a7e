import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { LoadResult, LoadSpec } from './http-load.js';

const spec = workerData as LoadSpec;
const target = new URL('/graphql', spec.url);
if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') throw new Error(`refusing to load ${target.hostname}: local only`);
const agent = new Agent({ keepAlive: true, maxSockets: spec.clients });

type Answer = { ok: true } | { ok: false; code: string };

function post(body: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${spec.token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              data?: { captureInvoice?: unknown } | null;
              errors?: { extensions?: { code?: string } }[];
            };
            if (parsed.errors?.length) resolve({ ok: false, code: parsed.errors[0]?.extensions?.code ?? 'UNKNOWN' });
            else if (parsed.data?.captureInvoice) resolve({ ok: true });
            else resolve({ ok: false, code: `HTTP_${res.statusCode}` });
          } catch {
            resolve({ ok: false, code: `HTTP_${res.statusCode}_NOT_JSON` });
          }
        });
        res.on('error', () => resolve({ ok: false, code: 'RESPONSE_ERROR' }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? 'REQUEST_ERROR' }));
    req.end(body);
  });
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
