import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { errorCodes, graphql } from '../support/graphql.js';
import { makePaidInvoice } from '../support/history.js';
import { startTestService, type TestService } from '../support/service.js';

/**
 * The cost limit at its default (GRAPHQL_MAX_COST 5000): what a client really asks for passes, what
 * would make the service do unbounded work is refused with a message naming the limit.
 */
let service: TestService;
let token: string;
let workspaceId: string;
const PAGE = 50;

beforeAll(async () => {
  service = await startTestService();
  token = await makeOperatorToken(service.deps.db);
  workspaceId = (await makeWorkspace(service.deps.db)).id;
  for (let index = 0; index < PAGE; index++) {
    await makePaidInvoice(service.deps.db, workspaceId, { due: 10_000, captured: 5_000, refunded: 1_000 });
  }
});
afterAll(() => service?.close());

const NODE = /* GraphQL */ `
  id number currency amountDue amountCaptured amountRefunded status createdAt
  adjustments { id kind amount currency createdAt }
  timeline { id type source occurredAt }
  refunds { id amount reason createdAt }
`;
const nestedPage = (first: string) => /* GraphQL */ `
  query ($workspaceId: UUID${first === '$first' ? ', $first: Int' : ''}) {
    invoices(workspaceId: $workspaceId, first: ${first}) { edges { cursor node { ${NODE} } } pageInfo { hasNextPage endCursor } }
  }
`;

function expectCostRefusal(response: Awaited<ReturnType<typeof graphql>>) {
  expect(response.status).toBe(400);
  expect(response.data ?? undefined).toBeUndefined();
  expect(errorCodes(response), JSON.stringify(response.errors)).toEqual(['BAD_USER_INPUT']);
  const [error] = response.errors!;
  expect(error!.message).toMatch(/exceeds the limit of 5000 \(GRAPHQL_MAX_COST\)/);
  expect(error!.message).not.toMatch(/^Syntax Error/);
}

describe('query cost', () => {
  it.each([
    ['first: 50', `${PAGE}`],
    ['first: $first', '$first'],
  ])('accepts a page of 50 invoices with their ledger lines, timeline and refunds (%s)', async (_name, first) => {
    const response = await graphql(service.url, nestedPage(first), { workspaceId, first: PAGE }, token);
    expect(response.errors).toBeUndefined();
    const nodes = response.data.invoices.edges.map((edge: any) => edge.node);
    expect(nodes).toHaveLength(PAGE);
    for (const node of nodes) {
      expect(node.adjustments).toHaveLength(2);
      expect(node.timeline).toHaveLength(3);
      expect(node.refunds).toHaveLength(1);
    }
  });

  it('refuses first: 10000, naming the limit', async () => {
    expectCostRefusal(await graphql(service.url, nestedPage('10000'), { workspaceId }, token));
  });

  it('refuses lists of lists (processor events → invoice → processor events → invoice → timeline)', async () => {
    const query = /* GraphQL */ `{
      processorEvents(first: 100, requestedOnly: false) { edges { node {
        invoice { processorEvents { invoice { timeline { id } } } }
      } } }
    }`;
    expectCostRefusal(await graphql(service.url, query, {}, token));
  });

  it('refuses 30 aliases of a heavy page', async () => {
    const aliases = Array.from({ length: 30 }, (_, index) => `p${index}: invoices(first: 100) { edges { node { ${NODE} } } }`).join('\n');
    expectCostRefusal(await graphql(service.url, `{ ${aliases} }`, {}, token));
  });

  it('counts fragments as what they select', async () => {
    const query = /* GraphQL */ `
      fragment Lists on Invoice { adjustments { id } timeline { id } refunds { id } paymentAttempts { id } processorEvents { id } }
      { a: invoices(first: 100) { edges { node { ...Lists } } } b: invoices(first: 100) { edges { node { ...Lists } } } }
    `;
    expectCostRefusal(await graphql(service.url, query, {}, token));
  });

  it('names the depth limit without "Syntax Error"', async () => {
    const deep = `{ invoices { edges { node { processorEvents { invoice { processorEvents { invoice { processorEvents { invoice { id } } } } } } } } } }`;
    const response = await graphql(service.url, deep, {}, token);
    expect(errorCodes(response)[0]).toBe('BAD_USER_INPUT');
    const depth = response.errors!.find((error) => /depth/i.test(error.message));
    expect(depth?.message).toMatch(/8/);
    for (const error of response.errors!) expect(error.message).not.toMatch(/^Syntax Error/);
  });
});
