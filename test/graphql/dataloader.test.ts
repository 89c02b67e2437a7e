import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import type { Invoice, Workspace } from '../../src/db/schema/index.js';
import type { Deps } from '../../src/domain/deps.js';
import { createApolloServer } from '../../src/graphql/apollo.js';
import { createContext, type GraphQLContext } from '../../src/graphql/context.js';
import { buildGraphQLSchema } from '../../src/graphql/schema.js';
import { connectTo } from '../support/database.js';
import { makeWorkspace } from '../support/factories.js';
import { makePaidInvoice } from '../support/history.js';
import { startTestService, type TestService } from '../support/service.js';

const INVOICE_COUNT = 50;
/**
 * One statement for the page with the lists read along with it (timeline, ledger lines, refunds), then
 * one per DataLoader: workspace, processor events, their invoices.
 */
const MAX_STATEMENTS = 4;

let service: TestService;
let counting: Database;
let statements: string[] = [];
let apollo: ApolloServer<GraphQLContext>;
let deps: Deps;
let workspace: Workspace;
const invoices: Invoice[] = [];

beforeAll(async () => {
  service = await startTestService();
  const { db } = service.database;
  workspace = await makeWorkspace(db);
  for (let index = 0; index < INVOICE_COUNT; index++) {
    invoices.push(await makePaidInvoice(db, workspace.id, { due: 10_000 + index, captured: 6_000 + index, refunded: 1_000 + index }));
  }
  // Reads go through a second pool that records every statement it sends. One connection, warmed up
  // before counting: postgres.js reads pg_type once per new connection, which is not the request's cost.
  counting = connectTo(service.database.url, { max: 1, onQuery: (query) => statements.push(query) });
  deps = { ...service.deps, db: counting.db };
  apollo = createApolloServer(await buildGraphQLSchema(), deps.config, deps.logger);
  await apollo.start();
});
afterAll(async () => {
  await apollo?.stop();
  await counting?.close();
  await service?.close();
});

const QUERY = /* GraphQL */ `
  query ($workspaceId: UUID!, $first: Int!) {
    invoices(workspaceId: $workspaceId, first: $first) {
      edges {
        node {
          id amountDue amountCaptured amountRefunded status
          workspace { id }
          timeline { type adjustmentId }
          adjustments { id kind amount }
          refunds { amount adjustmentId }
          processorEvents { eventType invoice { id } }
        }
      }
    }
  }
`;

it(`loads ${INVOICE_COUNT} invoices with every nested list in at most ${MAX_STATEMENTS} statements`, async () => {
  await counting.sql`SELECT 1`;
  statements = [];

  const response = await apollo.executeOperation(
    { query: QUERY, variables: { workspaceId: workspace.id, first: INVOICE_COUNT } },
    { contextValue: createContext(deps, { tokenId: randomUUID(), role: 'OPERATOR' }) },
  );

  const statementCount = statements.length;
  expect(response.body.kind).toBe('single');
  const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
  expect(result?.errors, JSON.stringify(result?.errors)).toBeUndefined();
  const nodes = (result?.data as any).invoices.edges.map((edge: any) => edge.node);

  expect(nodes.map((node: any) => node.id).sort()).toEqual(invoices.map((invoice) => invoice.id).sort());
  for (const node of nodes) {
    expect(node.workspace.id).toBe(workspace.id);
    expect(node.status).toBe('PARTIALLY_REFUNDED');
    expect(node.timeline.map((event: any) => event.type)).toEqual(['INVOICE_CREATED', 'CAPTURE_SUCCEEDED', 'REFUND_SUCCEEDED']);
    expect(node.adjustments.map((line: any) => line.kind).sort()).toEqual(['CAPTURE', 'REFUND']);
    // The ledger explains the totals: captures sum to amountCaptured, refunds to −amountRefunded.
    const sum = (kind: string) => node.adjustments.filter((line: any) => line.kind === kind).reduce((total: number, line: any) => total + line.amount, 0);
    expect(sum('CAPTURE')).toBe(node.amountCaptured);
    expect(sum('REFUND')).toBe(-node.amountRefunded);
    const refundLine = node.adjustments.find((line: any) => line.kind === 'REFUND');
    expect(node.refunds).toEqual([{ amount: node.amountRefunded, adjustmentId: refundLine.id }]);
    expect(node.processorEvents).toEqual([{ eventType: 'charge.captured', invoice: { id: node.id } }]);
  }

  expect(statementCount, statements.join('\n')).toBeLessThanOrEqual(MAX_STATEMENTS);
});

it('sends as many statements for a page of 5 as for a page of 50', async () => {
  const count = async (first: number) => {
    await counting.sql`SELECT 1`;
    statements = [];
    const response = await apollo.executeOperation(
      { query: QUERY, variables: { workspaceId: workspace.id, first } },
      { contextValue: createContext(deps, { tokenId: randomUUID(), role: 'OPERATOR' }) },
    );
    expect(response.body.kind === 'single' && response.body.singleResult.errors).toBeFalsy();
    return statements.length;
  };
  expect(await count(5)).toBe(await count(INVOICE_COUNT));
});
