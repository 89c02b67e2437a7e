import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrationsFolder, projectRoot } from '../../src/paths.js';

/**
 * drizzle-kit, run on the committed schema against a copy of the committed migrations, must find
 * nothing to generate; otherwise someone changed src/db/schema without running `npm run db:generate`.
 */

const root = projectRoot();
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'billing-ledger-migrations-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** Runs `drizzle-kit generate` into `out` and returns its output and the .sql files found there after. */
async function generate(out: string): Promise<{ output: string; files: string[] }> {
  const config = path.join(scratch, `drizzle.${path.basename(out)}.config.json`);
  // drizzle-kit prefixes paths with "./", so they must be relative to the project root.
  await writeFile(config, JSON.stringify({ dialect: 'postgresql', schema: './src/db/schema/index.ts', out: path.relative(root, out) }));
  const { stdout, stderr } = await promisify(execFile)(path.join(root, 'node_modules/.bin/drizzle-kit'), ['generate', '--config', config], {
    cwd: root,
    timeout: 60_000,
  });
  const files = (await readdir(out)).filter((file) => file.endsWith('.sql')).sort();
  return { output: stdout + stderr, files };
}

it('finds no schema change that the committed migrations lack', async () => {
  const out = path.join(scratch, 'committed');
  await cp(migrationsFolder(), out, { recursive: true });
  const before = (await readdir(out)).filter((file) => file.endsWith('.sql')).sort();

  const { output, files } = await generate(out);

  expect(files, `drizzle-kit generated a migration the repository lacks: run \`npm run db:generate\` and commit drizzle/.\n${output}`).toEqual(before);
  expect(output).toContain('No schema changes');
});

it('would notice a missing migration (the check itself works)', async () => {
  const out = path.join(scratch, 'empty');
  const { files } = await generate(out);
  expect(files).toHaveLength(1);
});
