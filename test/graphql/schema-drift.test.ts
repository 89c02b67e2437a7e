import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { buildGraphQLSchema, printGraphQLSchema } from '../../src/graphql/schema.js';
import { projectRoot } from '../../src/paths.js';

it('the committed schema.graphql is the schema the code builds', async () => {
  const committed = await readFile(path.join(projectRoot(), 'schema.graphql'), 'utf8');
  const built = printGraphQLSchema(await buildGraphQLSchema());
  expect(built, 'schema.graphql is out of date: run `npm run schema:emit` and commit the result').toBe(committed);
});
