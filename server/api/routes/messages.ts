// Messages: search (metadata), show with its destinations, history and stages, reprocess one or
// by filter. Content (patient data) only with messages:content and ?content=true.
import { decodeForDisplay } from '../../../adapters/hl7v2/charset.js';
import { allows } from '../../auth/roles.js';
import { HttpError } from '../../http/errors.js';
import { CONTENT_STAGES, DESTINATION_STATUSES, MESSAGE_STATUSES, type ContentStage, type MessageFilter, type MessageRecord } from '../../../core/store.js';
import { bodyObject, optionalBoolean, optionalDate, optionalEnum, optionalInt, optionalString, stringList } from '../params.js';
import type { ApiRoute, QueryParameter } from '../route.js';

/** A stored stage as text; `contentNote` says when raw bytes did not decode cleanly. */
function contentOf(stage: ContentStage, bytes: Buffer): { content: string; contentNote?: string } {
  if (stage !== 'raw') return { content: bytes.toString('utf8') };
  const { text, note } = decodeForDisplay(bytes);
  return note ? { content: text, contentNote: note } : { content: text };
}

const filterParameters: QueryParameter[] = [
  { name: 'channel', description: 'channel id', schema: { type: 'string' } },
  { name: 'status', description: 'message status', schema: { type: 'string', enum: [...MESSAGE_STATUSES] } },
  { name: 'destinationStatus', description: 'status at any destination', schema: { type: 'string', enum: [...DESTINATION_STATUSES] } },
  { name: 'from', description: 'received at or after (ISO 8601)', schema: { type: 'string', format: 'date-time' } },
  { name: 'to', description: 'received before (ISO 8601)', schema: { type: 'string', format: 'date-time' } },
  { name: 'messageType', description: 'e.g. ADT^A01', schema: { type: 'string' } },
  { name: 'controlId', description: "sender's message control id (MSH-10)", schema: { type: 'string' } },
  { name: 'patient', description: 'patient: an NHS number, or `<authority>:<id>` (e.g. RCB:12345); the search is audited against this patient', schema: { type: 'string' } },
  { name: 'limit', description: 'most messages (1-1000, default 100)', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
];

const messageSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    channel: { type: 'string' },
    receivedAt: { type: 'string', format: 'date-time' },
    sender: { type: 'string' },
    controlId: { type: 'string' },
    messageType: { type: 'string' },
    patientKey: { type: 'string' },
    status: { type: 'string' },
    error: { type: 'string' },
    destinations: { type: 'array', items: { type: 'object' } },
  },
};

function filterFrom(source: Record<string, unknown>, maxLimit: number, defaultLimit: number): MessageFilter {
  return {
    channel: optionalString(source, 'channel'),
    status: optionalEnum(source, 'status', MESSAGE_STATUSES),
    destinationStatus: optionalEnum(source, 'destinationStatus', DESTINATION_STATUSES),
    from: optionalDate(source, 'from'),
    to: optionalDate(source, 'to'),
    messageType: optionalString(source, 'messageType'),
    controlId: optionalString(source, 'controlId'),
    patientKey: patientKeyOf(optionalString(source, 'patient')),
    limit: optionalInt(source, 'limit', 1, maxLimit) ?? defaultLimit,
  };
}

const NHS_NUMBER = /^\d{10}$/;

/** The store keys patients as `nhs:<number>` (or `<authority>:<id>`); a bare NHS number is accepted. */
function patientKeyOf(identifier: string | undefined): string | undefined {
  if (identifier === undefined) return undefined;
  const compact = identifier.replace(/\s+/g, '');
  return NHS_NUMBER.test(compact) ? `nhs:${compact}` : identifier;
}

/** The identifier the audit trail files a patient under (the NHS number where there is one). */
function auditPatientOf(patientKey: string): string {
  return patientKey.startsWith('nhs:') ? patientKey.slice(4) : patientKey;
}

/** Patient identifiers are shown only to roles that may read content; others see metadata. */
function toJson(m: MessageRecord, showPatient: boolean) {
  const { patientKey, ...rest } = m;
  return {
    ...rest,
    ...(showPatient && patientKey ? { patientKey } : {}),
    receivedAt: m.receivedAt.toISOString(),
    destinations: m.destinations.map((d) => ({ ...d, updatedAt: d.updatedAt.toISOString() })),
  };
}

export const messageRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/messages',
    operationId: 'searchMessages',
    tag: 'messages',
    summary: 'Search messages by channel, status, time, message type, control id or patient identifier (newest first, metadata only)',
    permission: 'messages:read',
    query: filterParameters,
    response: { description: 'matching messages', schema: { type: 'object', properties: { messages: { type: 'array', items: messageSchema } } } },
    handle: async (ctx, req, res) => {
      const filter = filterFrom(req.query as Record<string, unknown>, 1000, 100);
      if (filter.patientKey) res.locals.auditPatient = auditPatientOf(filter.patientKey);
      const list = await ctx.engine.store.list(filter);
      res.locals.auditDetail = { count: list.length };
      const showPatient = allows(ctx.principal.roles, 'messages:content');
      return { messages: list.map((m) => toJson(m, showPatient)) };
    },
  },
  {
    method: 'get',
    path: '/messages/:id',
    operationId: 'getMessage',
    tag: 'messages',
    summary: 'One message with destinations, lifecycle events and stored stages; content only with content=true (needs messages:content)',
    permission: 'messages:read',
    query: [{ name: 'content', description: 'include decrypted content of each stage (patient data; audited)', schema: { type: 'boolean' } }],
    response: {
      description: 'the message',
      schema: {
        type: 'object',
        properties: {
          message: messageSchema,
          events: { type: 'array', items: { type: 'object' } },
          stages: {
            type: 'array',
            description: "stored content: the message's own stages (raw, transformed), then what each destination was sent and answered (sent, response, with its destination)",
            items: {
              type: 'object',
              properties: {
                stage: { type: 'string', enum: [...CONTENT_STAGES] },
                destination: { type: 'string', description: 'the destination that reported this stage (sent, response)' },
                stored: { type: 'boolean' },
                content: { type: 'string' },
                contentNote: { type: 'string' },
              },
            },
          },
        },
      },
    },
    handle: async (ctx, req, res) => {
      const id = String(req.params.id);
      const withContent = optionalBoolean(req.query as Record<string, unknown>, 'content');
      if (withContent && !allows(ctx.principal.roles, 'messages:content')) {
        res.locals.authFailure = 'needs messages:content';
        throw new HttpError(403, 'your role does not allow message content (needs messages:content)');
      }
      const m = await ctx.engine.store.get(id);
      if (!m) throw new HttpError(404, `no message ${id}`);
      res.locals.auditMessageId = id;
      const showPatient = allows(ctx.principal.roles, 'messages:content');
      if (showPatient && m.patientKey) res.locals.auditPatient = auditPatientOf(m.patientKey);
      res.locals.auditDetail = { content: withContent };
      const events = await ctx.engine.store.events(id);
      const stages = [];
      for (const stored of await ctx.engine.store.contentStages(id)) {
        // Decrypted only when asked for (and allowed): the listing itself reads no content.
        const bytes = withContent ? await ctx.engine.store.readContent(id, stored.stage, stored.destination) : undefined;
        if (withContent && !bytes) continue; // pruned meanwhile
        stages.push({ ...stored, stored: true, ...(bytes ? contentOf(stored.stage, bytes) : {}) });
      }
      return { message: toJson(m, showPatient), events: events.map((e) => ({ ...e, at: e.at.toISOString() })), stages };
    },
  },
  {
    method: 'post',
    path: '/messages/:id/reprocess',
    operationId: 'reprocessMessage',
    tag: 'messages',
    summary: 'Queue one message again for its channel destinations',
    permission: 'messages:reprocess',
    response: { description: 'what was queued and what was skipped', schema: { type: 'object', properties: { queued: { type: 'array', items: { type: 'string' } }, skipped: { type: 'array', items: { type: 'object' } } } } },
    handle: async (ctx, req, res) => {
      const id = String(req.params.id);
      res.locals.auditMessageId = id;
      const result = await ctx.engine.reprocess([id], ctx.principal.id);
      if (result.skipped.length && result.skipped[0].reason === 'no such message') throw new HttpError(404, `no message ${id}`);
      return result;
    },
  },
  {
    method: 'post',
    path: '/messages/reprocess',
    operationId: 'reprocessMessages',
    tag: 'messages',
    summary: 'Queue again every message matching a filter (or the listed ids); at least one criterion is required',
    permission: 'messages:reprocess',
    body: {
      contentTypes: ['application/json'],
      required: true,
      schema: {
        type: 'object',
        properties: {
          ids: { type: 'array', items: { type: 'string' } },
          ...Object.fromEntries(filterParameters.filter((p) => p.name !== 'limit').map((p) => [p.name, p.schema])),
          limit: { type: 'integer', minimum: 1, maximum: 10000, description: 'most messages (default 1000)' },
        },
      },
    },
    response: { description: 'what was queued and what was skipped', schema: { type: 'object', properties: { queued: { type: 'array', items: { type: 'string' } }, skipped: { type: 'array', items: { type: 'object' } } } } },
    handle: async (ctx, req, res) => {
      const body = bodyObject(req.body);
      const ids = stringList(body, 'ids', false);
      const { limit, ...criteria } = filterFrom(body, 10_000, 1000);
      const filtered = Object.values(criteria).some((v) => v !== undefined);
      if (!ids?.length && !filtered) throw new HttpError(400, 'give ids or at least one filter criterion (e.g. channel and destinationStatus)');
      if (criteria.patientKey) res.locals.auditPatient = auditPatientOf(criteria.patientKey);
      const targets = ids?.length ? ids : (await ctx.engine.store.list({ ...criteria, limit, oldestFirst: true })).map((m) => m.id);
      const result = await ctx.engine.reprocess(targets, ctx.principal.id);
      res.locals.auditDetail = { queued: result.queued.length, skipped: result.skipped.length };
      return result;
    },
  },
];
