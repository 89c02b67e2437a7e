import { afterAll, afterEach, beforeAll } from 'vitest';
import { makeOperatorToken, makeWorkspace } from './factories.js';
import { expectLedgerConsistent } from './ledger.js';
import { startTestService, type TestService } from './service.js';

export type BillingFixture = { service: TestService; token: string; workspaceId: string };

/**
 * The usual set-up of a test file that moves money: the real service with these variables, an operator
 * token, a workspace (in the billing pilot), and the ledger's invariants checked after every test.
 * Read the fields inside tests and hooks: they are filled in `beforeAll`.
 */
export function useBillingService(environment: Record<string, string> = {}): BillingFixture {
  const fixture = {} as BillingFixture;
  beforeAll(async () => {
    fixture.service = await startTestService(environment);
    fixture.token = await makeOperatorToken(fixture.service.deps.db);
    fixture.workspaceId = (await makeWorkspace(fixture.service.deps.db, { billingPilot: true })).id;
  });
  afterEach(() => expectLedgerConsistent(fixture.service.deps.db));
  afterAll(() => fixture.service?.close());
  return fixture;
}
