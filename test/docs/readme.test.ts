import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.js';

const read = (file: string) => readFile(path.join(projectRoot(), file), 'utf8');

/** The variables src/config.ts parses: the keys of its zod environment schema. */
async function configVariables(): Promise<string[]> {
  const source = await read('src/config.ts');
  const schema = /const environmentSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(source)?.[1];
  expect(schema, 'environmentSchema not found in src/config.ts').toBeDefined();
  return [...schema!.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1]!).sort();
}

it("the README's configuration table lists every variable of src/config.ts, and no other", async () => {
  const readme = await read('README.md');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
  const documented = [...section.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm)].map((match) => match[1]!).sort();
  const variables = await configVariables();
  expect(variables.length).toBeGreaterThan(10);
  expect(documented).toEqual(variables);
});

it('CI runs exactly the test command the README gives', async () => {
  const readme = await read('README.md');
  const ci = await read('.ci/run');
  expect(readme).toContain('\nnpm test\n');
  expect(ci.trim().split('\n').slice(-2)).toEqual(['npm ci', 'npm test']);
});
