import { createRequire } from 'node:module';

/**
 * pg-boss's own job INSERT (its `plans.insertJob`), as the service sends it inside its transactions
 * (src/jobs/boss.ts): every `$n` occurrence becomes a parameter of its own, in order, because the
 * service hands pg-boss's text to Drizzle. The values are those `boss.send` passes for the service's
 * queues (no per-job options but a singleton key and a start time).
 */
const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as { insertJob(schema: string): string };
const TEXT = plans.insertJob('pgboss');
const ORDER = [...TEXT.matchAll(/\$(\d+)/g)].map((match) => Number(match[1]));
let next = 0;
const RENUMBERED = TEXT.replace(/\$\d+/g, () => `$${++next}`);

export function jobInsert(name: string, data: unknown, options: { singletonKey?: string; startAfter?: string } = {}): [string, unknown[]] {
  const values: unknown[] = [null, name, JSON.stringify(data), 0, options.startAfter ?? null, options.singletonKey ?? null, null, 0];
  return [RENUMBERED, ORDER.map((index) => values[index - 1] ?? null)];
}
