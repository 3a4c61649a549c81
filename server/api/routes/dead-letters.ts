// Dead letters: list (metadata only), replay, discard with a reason.
import { HttpError } from '../../http/errors.js';
import { bodyObject, optionalInt, optionalString, requiredString, stringList } from '../params.js';
import type { ApiRoute } from '../route.js';

const deadLetterSchema = {
  type: 'object',
  properties: {
    messageId: { type: 'string' },
    channel: { type: 'string' },
    destination: { type: 'string' },
    routingKey: { type: 'string' },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    reason: { type: 'string' },
    attempts: { type: 'integer' },
    deadLetteredAt: { type: 'string', format: 'date-time' },
  },
};

export const deadLetterRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/dead-letters',
    operationId: 'listDeadLetters',
    tag: 'dead-letters',
    summary: 'Dead letters of one destination or of all, oldest first (no content)',
    permission: 'dead-letters:read',
    query: [
      { name: 'destination', description: 'destination id (<channel>.<destination>)', schema: { type: 'string' } },
      { name: 'limit', description: 'most entries (1-1000, default 100)', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
    ],
    response: { description: 'dead letters', schema: { type: 'object', properties: { deadLetters: { type: 'array', items: deadLetterSchema } } } },
    handle: async (ctx, req) => {
      const q = req.query as Record<string, unknown>;
      return { deadLetters: await ctx.engine.deadLetters(optionalString(q, 'destination'), optionalInt(q, 'limit', 1, 1000) ?? 100) };
    },
  },
  {
    method: 'post',
    path: '/dead-letters/replay',
    operationId: 'replayDeadLetters',
    tag: 'dead-letters',
    summary: "Put a destination's dead letters (all, or the listed message ids) back on its queue",
    permission: 'dead-letters:replay',
    body: { contentTypes: ['application/json'], required: true, schema: { type: 'object', required: ['destination'], properties: { destination: { type: 'string' }, messageIds: { type: 'array', items: { type: 'string' } } } } },
    response: { description: 'how many were replayed', schema: { type: 'object', properties: { replayed: { type: 'integer' } } } },
    handle: async (ctx, req, res) => {
      const body = bodyObject(req.body);
      const destination = requiredString(body, 'destination');
      const ids = stringList(body, 'messageIds', false);
      const replayed = await ctx.engine.replayDeadLetters(destination, ids, ctx.principal.id);
      res.locals.auditDetail = { destination, replayed };
      return { replayed };
    },
  },
  {
    method: 'post',
    path: '/dead-letters/discard',
    operationId: 'discardDeadLetters',
    tag: 'dead-letters',
    summary: 'Discard dead letters for good, with the reason (recorded in the message history and the audit trail)',
    permission: 'dead-letters:discard',
    body: {
      contentTypes: ['application/json'],
      required: true,
      schema: { type: 'object', required: ['destination', 'messageIds', 'reason'], properties: { destination: { type: 'string' }, messageIds: { type: 'array', items: { type: 'string' } }, reason: { type: 'string' } } },
    },
    response: { description: 'how many were discarded', schema: { type: 'object', properties: { discarded: { type: 'integer' } } } },
    handle: async (ctx, req, res) => {
      const body = bodyObject(req.body);
      const destination = requiredString(body, 'destination');
      const ids = stringList(body, 'messageIds', true)!;
      const reason = requiredString(body, 'reason');
      if (!ids.length) throw new HttpError(400, 'messageIds must name at least one message');
      const discarded = await ctx.engine.discardDeadLetters(destination, ids, reason, ctx.principal.id);
      res.locals.auditDetail = { destination, discarded, reason };
      return { discarded };
    },
  },
];
