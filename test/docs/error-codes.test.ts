import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ERROR_CODES, HTTP_STATUS } from '../../src/errors.js';
import { projectRoot } from '../../src/paths.js';

/** The `| \`CODE\` | 409 | … |` rows of docs/error-codes.md, as [code, status] pairs. */
async function documentedCodes(): Promise<[string, number][]> {
  const text = await readFile(path.join(projectRoot(), 'docs/error-codes.md'), 'utf8');
  return [...text.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map(([, code, status]) => [code!, Number(status)]);
}

it('docs/error-codes.md lists every error code once, with its HTTP status, and no other', async () => {
  const rows = await documentedCodes();
  expect(Object.fromEntries(rows)).toEqual({ ...HTTP_STATUS });
  expect(rows).toHaveLength(ERROR_CODES.length);
});
