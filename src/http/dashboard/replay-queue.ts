import type { Request, Response, Router } from 'express';
import type { ReplayRequest } from '../../db/schema/index.js';
import type { Deps } from '../../domain/deps.js';
import { dryRunReplay, type DryRunReport } from '../../domain/processor-events/dry-run-replay.js';
import { replayGroup, replayQueue, replayWholeGroup, type ReplayGroup } from '../../domain/processor-events/replay-groups.js';
import { findProcessorEvent } from '../../domain/processor-events/list-processor-events.js';
import { latestReplayRequests, requestReplay } from '../../domain/processor-events/request-replay.js';
import { DomainError, isDomainError } from '../../errors.js';
import { age, money, time } from './format.js';
import { html, type Html } from './html.js';
import { csrfField, notice, page, refusal, send, sendErrorPage, type DashboardSession } from './layout.js';
import { sessionOf } from './session.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const eventNotFound = (id: string) => new DomainError('NOT_FOUND', `Processor event ${id} not found`);
const groupLink = (signature: string) => `/dashboard/replays/group?signature=${encodeURIComponent(signature)}`;

export function mountReplayQueue(router: Router, deps: Deps): void {
  router.get('/replays', async (req: Request, res: Response) => {
    const asked = typeof req.query.asked === 'string' && UUID.test(req.query.asked) ? req.query.asked : undefined;
    await renderQueue(deps, req, res, 200, asked ? await answerTo(deps, sessionOf(res), asked) : undefined);
  });

  router.get('/replays/:eventId/dry-run', async (req: Request, res: Response) => {
    const session = sessionOf(res);
    const id = req.params.eventId as string;
    try {
      if (!UUID.test(id)) throw eventNotFound(id);
      const report = await dryRunReplay(deps, session.viewer, id);
      send(res, 200, page({ title: 'Dry run of a replay', session, section: 'replays', body: dryRunBody(session, report) }));
    } catch (error) {
      sendErrorPage(res, error, deps.logger, session);
    }
  });

  router.post('/replays/:eventId/replay', async (req: Request, res: Response) => {
    const session = sessionOf(res);
    const id = req.params.eventId as string;
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      if (!UUID.test(id)) throw eventNotFound(id);
      await requestReplay(deps, session.viewer, {
        eventId: id,
        force: body.force === '1',
        reason: typeof body.reason === 'string' ? body.reason : undefined,
      });
      // Post/redirect/get: reloading the page shows the answer again instead of asking again.
      res.redirect(303, `/dashboard/replays?asked=${id}`);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      await renderQueue(deps, req, res, error.httpStatus, refusal(error.code, error.message, error.details));
    }
  });

  router.get('/replays/group', async (req: Request, res: Response) => {
    const session = sessionOf(res);
    const signature = typeof req.query.signature === 'string' ? req.query.signature : '';
    try {
      const group = await replayGroup(deps, session.viewer, signature);
      const body = group
        ? html`<p>Replaying this group schedules a replay of <strong>${group.events.length}</strong> event${group.events.length === 1 ? '' : 's'}
(${group.atCap} of them at the cap of ${group.cap}, which will be refused).</p>
<p>Error: <q>${signature}</q></p>
<form method="post" action="/dashboard/replays/group">${csrfField(session)}<input type="hidden" name="signature" value="${signature}">
<button type="submit">Replay all ${group.events.length}</button> <a href="/dashboard/replays">Cancel</a></form>`
        : html`<p>No event waits with this error any more.</p><p><a href="/dashboard/replays">Back to the queue</a></p>`;
      send(res, 200, page({ title: 'Replay a whole group', session, section: 'replays', body }));
    } catch (error) {
      sendErrorPage(res, error, deps.logger, session);
    }
  });

  router.post('/replays/group', async (req: Request, res: Response) => {
    const session = sessionOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      const result = await replayWholeGroup(deps, session.viewer, typeof body.signature === 'string' ? body.signature : '');
      const refused = result.refused.map((item) => refusal(item.code, item.message, { eventId: item.eventId }));
      await renderQueue(deps, req, res, 200, html`${notice(`${result.accepted} replay${result.accepted === 1 ? '' : 's'} scheduled, ${result.refused.length} refused.`)}${refused}`);
    } catch (error) {
      sendErrorPage(res, error, deps.logger, session);
    }
  });
}

/** What the last replay request of this event answered, for the page it redirects to. */
async function answerTo(deps: Deps, session: DashboardSession, eventId: string): Promise<Html | undefined> {
  const [event, requests] = await Promise.all([findProcessorEvent(deps.db, session.viewer, eventId), latestReplayRequests(deps.db, [eventId])]);
  const request = requests.get(eventId);
  if (!event || !request) return undefined;
  if (request.outcome === 'ACCEPTED') {
    const since = event.lastReplayedAt && event.lastReplayedAt >= request.createdAt;
    if (!since) return notice(`Replay of ${event.externalId} scheduled.`);
    return notice(`Replay of ${event.externalId} scheduled, then done: ${event.replayRequested ? `failed again: ${event.lastReplayError ?? ''}` : event.outcome}.`);
  }
  if (request.outcome === 'REPLAYED') return notice(`${event.externalId} replayed: ${event.outcome}.`);
  return notice(`${event.externalId} replayed and failed again: ${event.lastReplayError ?? ''}`);
}

async function renderQueue(deps: Deps, _req: Request, res: Response, status: number, message?: Html): Promise<void> {
  const session = sessionOf(res);
  try {
    const queue = await replayQueue(deps, session.viewer);
    const body = html`${message ?? null}
<p>${queue.total} event${queue.total === 1 ? '' : 's'} waiting for a replay${queue.truncated ? ' (only the oldest shown)' : ''}. A group is marked
<span class="badge fixed">cause fixed</span> when a dry run of its newest event now applies.</p>
${queue.groups.length === 0 ? html`<p>The queue is empty.</p>` : queue.groups.map((group, index) => groupSection(session, group, index, queue.lastRequests))}`;
    send(res, status, page({ title: 'Replay queue', session, section: 'replays', body }));
  } catch (error) {
    sendErrorPage(res, error, deps.logger, session);
  }
}

function lastAsked(request: ReplayRequest | undefined): Html {
  if (!request) return html`<span class="none">—</span>`;
  return html`${time(request.createdAt)} by token <code>${request.requestedBy.slice(0, 8)}</code>: ${request.forced ? html`forced, “${request.reason ?? ''}”` : 'scheduled'} → ${request.outcome}`;
}

function groupSection(session: DashboardSession, group: ReplayGroup, index: number, lastRequests: Map<string, ReplayRequest>): Html {
  const headingId = `group-${index}`;
  return html`<section aria-labelledby="${headingId}" class="group">
<h2 id="${headingId}">${group.signature} ${group.causeFixed ? html`<span class="badge fixed">cause fixed</span>` : null}${
    group.atCap > 0 ? html` <span class="badge cap">${group.atCap} at the cap</span>` : null
  }</h2>
<p>${group.events.length} event${group.events.length === 1 ? '' : 's'} · oldest ${age(group.oldestReceivedAt)} old · attempts up to ${group.maxAttempts}/${group.cap}
· <a href="${groupLink(group.signature)}">Replay the whole group…</a></p>
<table><thead><tr><th scope="col">Event</th><th scope="col">Type</th><th scope="col">Received</th><th scope="col">Age</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Last asked</th><th scope="col">Actions</th></tr></thead>
<tbody>${group.events.map(
    (event) => html`<tr><th scope="row"><code>${event.externalId}</code></th><td>${event.eventType}</td><td>${time(event.receivedAt)}</td><td>${age(event.receivedAt)}</td>
<td>${event.replayAttempts}/${group.cap}</td><td>${event.lastReplayError ?? '—'}</td><td>${lastAsked(lastRequests.get(event.id))}</td>
<td><a href="/dashboard/replays/${event.id}/dry-run">Dry run</a>
<form class="inline" method="post" action="/dashboard/replays/${event.id}/replay">${csrfField(session)}<button type="submit" class="secondary">Schedule replay</button></form>
<details><summary>Force now…</summary><form method="post" action="/dashboard/replays/${event.id}/replay">${csrfField(session)}<input type="hidden" name="force" value="1">
<label for="reason-${event.id}">Reason (recorded with your token)</label><input id="reason-${event.id}" name="reason" required maxlength="500">
<button type="submit">Force replay</button></form></details></td></tr>`,
  )}</tbody></table></section>`;
}

function dryRunBody(session: DashboardSession, report: DryRunReport): Html {
  const invoice = report.invoice;
  return html`<p>Nothing below was written: the replay ran in a transaction that was rolled back.</p>
<dl class="strip"><div><dt>Outcome</dt><dd>${report.outcome}</dd></div>${
    report.error ? html`<div><dt>Error</dt><dd class="disagree">${report.error}</dd></div>` : null
  }${
    invoice
      ? html`<div><dt>Invoice</dt><dd><a href="/dashboard/invoices/${invoice.id}">${invoice.number}</a></dd></div>
<div><dt>Status change</dt><dd>${invoice.statusBefore ?? '—'} → ${invoice.statusAfter}</dd></div>`
      : html`<div><dt>Invoice</dt><dd class="none">none found</dd></div>`
  }</dl>
<h2>Ledger lines it would write</h2>${
    report.ledgerLines.length === 0
      ? html`<p class="none">None.</p>`
      : html`<table><thead><tr><th scope="col">Kind</th><th scope="col">Amount</th><th scope="col">Source</th><th scope="col">Processor object</th></tr></thead><tbody>${report.ledgerLines.map(
          (line) => html`<tr><th scope="row">${line.kind}</th><td class="num">${money(line.amount, line.currency)}</td><td>${line.source}</td><td><code>${line.processorObjectId ?? '—'}</code></td></tr>`,
        )}</tbody></table>`
  }
<h2>Timeline entries it would add</h2>${
    report.timelineEntries.length === 0
      ? html`<p class="none">None.</p>`
      : html`<table><thead><tr><th scope="col">What</th><th scope="col">Source</th><th scope="col">Details</th></tr></thead><tbody>${report.timelineEntries.map(
          (entry) => html`<tr><th scope="row">${entry.type}</th><td>${entry.source}</td><td><code>${JSON.stringify(entry.data)}</code></td></tr>`,
        )}</tbody></table>`
  }
<form method="post" action="/dashboard/replays/${report.eventId}/replay">${csrfField(session)}<button type="submit">Schedule this replay</button></form>
<p><a href="/dashboard/replays">Back to the queue</a></p>`;
}
