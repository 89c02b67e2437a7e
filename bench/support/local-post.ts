import { Agent, request } from 'node:http';

/** A URL on this machine: load generators refuse any other target. */
export function localTarget(base: string, path: string): URL {
  const target = new URL(path, base);
  if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') throw new Error(`refusing to load ${target.hostname}: local only`);
  return target;
}

export type PostAnswer = { status: number; body: string } | { error: string };

/** POSTs a JSON body over a keep-alive agent; resolves with the answer or a socket error code, never rejects. */
export function postJson(agent: Agent, target: URL, body: string, headers: Record<string, string> = {}): Promise<PostAnswer> {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => resolve({ error: 'RESPONSE_ERROR' }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? 'REQUEST_ERROR' }));
    req.end(body);
  });
}
