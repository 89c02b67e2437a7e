import type { Request, Response, Router } from 'express';
import { ROLLOUT_STAGES, type RolloutStage } from '../../config.js';
import type { Deps } from '../../domain/deps.js';
import { getRolloutStage, listRolloutStageChanges, setRolloutStage } from '../../domain/settings/rollout-stage.js';
import { requireOperator } from '../../domain/auth/viewer.js';
import { isDomainError } from '../../errors.js';
import { time } from './format.js';
import { html, type Html } from './html.js';
import { csrfField, notice, page, refusal, send, sendErrorPage } from './layout.js';
import { sessionOf } from './session.js';

const isStage = (value: unknown): value is RolloutStage => typeof value === 'string' && (ROLLOUT_STAGES as readonly string[]).includes(value);

const MEANING: Record<RolloutStage, string> = {
  OFF: 'no captures or refunds',
  PILOT: 'only workspaces in the billing pilot',
  GENERAL: 'every workspace',
};

export function mountRollout(router: Router, deps: Deps): void {
  router.get('/rollout', async (req: Request, res: Response) => {
    const { from, to } = req.query;
    const changed = isStage(from) && isStage(to) ? notice(`Rollout stage changed from ${from} to ${to}.`) : undefined;
    await renderRollout(deps, res, 200, changed);
  });

  router.post('/rollout', async (req: Request, res: Response) => {
    const session = sessionOf(res);
    const stage = String((req.body as Record<string, unknown> | undefined)?.stage ?? '') as RolloutStage;
    try {
      const change = await setRolloutStage(deps.db, deps.config, session.viewer, stage);
      // Post/redirect/get: a reload must not change the stage again.
      res.redirect(303, `/dashboard/rollout?${new URLSearchParams({ from: change.previous, to: change.current })}`);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      await renderRollout(deps, res, error.httpStatus, refusal(error.code, error.message, error.details));
    }
  });
}

async function renderRollout(deps: Deps, res: Response, status: number, message?: Html): Promise<void> {
  const session = sessionOf(res);
  try {
    requireOperator(session.viewer, 'read the rollout stage');
    const [stage, changes] = await Promise.all([getRolloutStage(deps.db, deps.config), listRolloutStageChanges(deps.db, session.viewer, 50)]);
    const body = html`${message ?? null}
<p>Current stage: <strong>${stage}</strong> (${MEANING[stage]}). Webhooks are never blocked by it.</p>
<form method="post" action="/dashboard/rollout">${csrfField(session)}<fieldset><legend>Change the stage</legend>${ROLLOUT_STAGES.map(
      (candidate) =>
        html`<div><input type="radio" id="stage-${candidate}" name="stage" value="${candidate}"${candidate === stage ? html` checked` : null}>
<label for="stage-${candidate}" class="inline">${candidate}: ${MEANING[candidate]}</label></div>`,
    )}<p><button type="submit">Change the stage</button></p></fieldset></form>
<h2>History</h2>${
      changes.length === 0
        ? html`<p>Never changed: the stage is the configured one (BILLING_ROLLOUT_STAGE).</p>`
        : html`<table><thead><tr><th scope="col">When</th><th scope="col">From</th><th scope="col">To</th><th scope="col">By token</th></tr></thead><tbody>${changes.map(
            (change) => html`<tr><th scope="row">${time(change.changedAt)}</th><td>${change.oldValue ?? '—'}</td><td>${change.newValue}</td><td><code>${change.changedBy ?? '—'}</code></td></tr>`,
          )}</tbody></table>`
    }`;
    send(res, status, page({ title: 'Rollout stage', session, section: 'rollout', body }));
  } catch (error) {
    sendErrorPage(res, error, deps.logger, session);
  }
}
