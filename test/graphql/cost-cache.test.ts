import { getOperationAST, parse } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { CostCache, queryCost } from '../../src/graphql/cost-limit.js';
import { buildGraphQLSchema } from '../../src/graphql/schema.js';

// The cost limit keeps a query's cost per parsed operation and per value of the variables it read.
describe('the cost cache', () => {
  let schema: Awaited<ReturnType<typeof buildGraphQLSchema>>;
  beforeAll(async () => {
    schema = await buildGraphQLSchema();
  });

  const PAGE = parse(`query ($first: Int = 50, $id: UUID) {
    invoices(first: $first) { edges { node { id timeline { id } refunds { id } } } }
    invoice(id: $id) { id adjustments { id } }
  }`);

  it('answers what queryCost answers, for every value of the variables it reads, absent and null apart', () => {
    const operation = getOperationAST(PAGE)!;
    const cache = new CostCache();
    const cases: Record<string, unknown>[] = [{}, { first: null }, { first: 5 }, { first: 100 }, { first: 5, id: 'a' }, { first: 5, id: 'b' }, {}, { first: null }, { first: 5 }];
    for (const variables of cases) {
      expect(cache.cost(schema, PAGE, operation, variables), JSON.stringify(variables)).toBe(queryCost(schema, PAGE, operation, variables));
    }
    expect(queryCost(schema, PAGE, operation, {})).not.toBe(queryCost(schema, PAGE, operation, { first: null }));
  });
});
