import type { Router } from 'express';
import { z } from 'zod';
import type { ProcessorEvent } from '../db/schema/index.js';
import type { Deps } from '../domain/deps.js';
import { listProcessorEvents, PROCESSOR_EVENT_CURSOR } from '../domain/processor-events/list-processor-events.js';
import { triggerReplay } from '../domain/processor-events/trigger-replay.js';
import { encodeCursor } from '../domain/pagination.js';
import { viewerOf } from './authenticate.js';
import { storableText } from './storable-text.js';

const booleanParam = z.enum(['true', 'false']).transform((value) => value === 'true');
const listQuery = z
  .object({
    requestedOnly: booleanParam.optional(),
    provider: storableText.min(1).max(64).optional(),
    first: z.coerce.number().int().optional(),
    after: storableText.optional(),
  })
  .strict();
const triggerBody = z.object({ force: z.boolean().optional() }).strict();
const eventId = z.uuid({ message: 'eventId must be a UUID' });

/** The replay procedures of the runbook: list the queue, trigger a replay (202 scheduled, 200 done now). */
export function mountReplayRoutes(router: Router, deps: Deps): void {
  router.get('/replays', async (req, res) => {
    const query = listQuery.parse(req.query);
    const page = await listProcessorEvents(deps.db, viewerOf(res), query);
    const last = page.nodes.at(-1);
    res.json({
      events: page.nodes.map(eventJson),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: last ? encodeCursor(PROCESSOR_EVENT_CURSOR, last.id) : null },
    });
  });

  router.post('/replays/:eventId/trigger', async (req, res) => {
    const { force } = triggerBody.parse(req.body ?? {});
    const result = await triggerReplay(deps, viewerOf(res), eventId.parse(req.params.eventId), force ?? false);
    res.status(result.outcome === 'ACCEPTED' ? 202 : 200).json({ ...result, event: eventJson(result.event) });
  });
}

/** A poison event's exact bytes travel as base64 (JSON would spell a Buffer out byte by byte). */
const eventJson = (event: ProcessorEvent) => ({ ...event, payloadRaw: event.payloadRaw?.toString('base64') ?? null });
