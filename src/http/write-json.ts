import type { ServerResponse } from 'node:http';

/** The whole answer as JSON, as res.json would send it, for handlers that run without Express (no ETag: nobody revalidates these). */
export function writeJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
