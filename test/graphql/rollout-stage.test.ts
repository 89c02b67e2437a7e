import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { errorCodes, graphql } from '../support/graphql.js';
import { startTestService, type TestService } from '../support/service.js';

let service: TestService;
let operator: string;

beforeAll(async () => {
  service = await startTestService({ BILLING_ROLLOUT_STAGE: 'PILOT' });
  operator = await makeOperatorToken(service.deps.db);
});
afterAll(() => service.close());

const SET = `mutation ($stage: RolloutStage!) { setRolloutStage(stage: $stage) }`;

describe('rollout stage', () => {
  it('starts at BILLING_ROLLOUT_STAGE, changes at run time, and records each change', async () => {
    expect((await graphql(service.url, `{ rolloutStage }`, {}, operator)).data.rolloutStage).toBe('PILOT');
    expect((await graphql(service.url, SET, { stage: 'GENERAL' }, operator)).data.setRolloutStage).toBe('GENERAL');
    expect((await graphql(service.url, SET, { stage: 'OFF' }, operator)).data.setRolloutStage).toBe('OFF');
    expect((await graphql(service.url, `{ rolloutStage }`, {}, operator)).data.rolloutStage).toBe('OFF');

    const history = await graphql(service.url, `{ rolloutStageChanges { oldValue newValue changedBy changedAt } }`, {}, operator);
    expect(history.data.rolloutStageChanges.map((change: any) => [change.oldValue, change.newValue])).toEqual([
      ['GENERAL', 'OFF'],
      ['PILOT', 'GENERAL'],
    ]);
    expect(history.data.rolloutStageChanges[0].changedBy).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('only operators may change it', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const serviceToken = await makeServiceToken(service.deps.db, workspace.id);
    expect(errorCodes(await graphql(service.url, SET, { stage: 'GENERAL' }, serviceToken))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await graphql(service.url, SET, { stage: 'GENERAL' }))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await graphql(service.url, SET, { stage: 'EVERYONE' }, operator))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await graphql(service.url, `{ rolloutStageChanges { newValue } }`, {}, serviceToken))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await graphql(service.url, `{ rolloutStageChanges(first: 500) { newValue } }`, {}, operator))).toEqual(['BAD_USER_INPUT']);
  });
});
