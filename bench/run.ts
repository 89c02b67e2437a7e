// First, as in main.ts: graphql-js reads NODE_ENV when it is loaded, and every bench measures the
// service as it runs in production (graphql-js's development checks off).
import '../src/production-mode.js';
import 'reflect-metadata';

/**
 * `npm run bench -- <scenario> [options]`: a small table of benchmarks, each a module with
 * `run(argv): Promise<exit code>` and a one-line `description`, loaded only when asked for.
 */
type Bench = { description: string; run(argv: string[]): Promise<number> };

const BENCHES: Record<string, () => Promise<Bench>> = {
  capture: () => import('./capture.js'),
  webhooks: () => import('./webhooks.js'),
  reconcile: () => import('./reconcile.js'),
  admission: () => import('./admission.js'),
  reads: () => import('./reads.js'),
  'replay-drain': () => import('./replay-drain.js'),
  soak: () => import('./soak.js'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name ? BENCHES[name] : undefined;
  if (!load) {
    const list = await Promise.all(Object.entries(BENCHES).map(async ([key, bench]) => `  ${key.padEnd(10)} ${(await bench()).description}`));
    console.error(`Usage: npm run bench -- <name> [options]   (add --help after the name for its options)\n\n${list.join('\n')}`);
    return name ? 2 : 0;
  }
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
