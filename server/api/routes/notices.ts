// Hospital-to-social-care notices (ADW): list (no person details), show (the person's details:
// a view of a person's data, audited against their NHS number), accept or reject with a reason
// code (the response goes back to the hospital the way the notice came; docs/notices.md).
import type { Request, Response } from 'express';
import { NOTICE_STATES, type NoticeKind } from '../../../core/notices.js';
import { NoticeDecisionError, noticeToJson, type NoticeService } from '../../../channels/notice-service.js';
import type { Letter } from '../../../adapters/adw/respond.js';
import { HttpError } from '../../http/errors.js';
import { bodyObject, optionalEnum, optionalInt, optionalString, requiredString } from '../params.js';
import type { ApiRoute, RouteContext } from '../route.js';

const TYPES: readonly NoticeKind[] = ['assessment', 'discharge', 'withdrawal', 'admission'];

const noticeSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'MessageHeader id of the notice' },
    messageId: { type: 'string' },
    channel: { type: 'string' },
    type: { type: 'string', enum: [...TYPES] },
    withdraws: { type: 'string', enum: ['all', 'assessment-only', 'discharge-only'] },
    event: { type: 'string' },
    format: { type: 'string', enum: ['xml', 'json'] },
    transport: { type: 'string', enum: ['mesh', 'http'] },
    replyTo: { type: 'string' },
    hospitalOds: { type: 'string' },
    councilOds: { type: 'string' },
    episode: { type: 'string' },
    ward: { type: 'string' },
    receivedAt: { type: 'string', format: 'date-time' },
    dueAt: { type: 'string', format: 'date-time' },
    state: { type: 'string', enum: [...NOTICE_STATES] },
    overdue: { type: 'boolean' },
    answer: { type: 'object' },
    responseMessageId: { type: 'string' },
    withdrawnBy: { type: 'string' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
};

function service(ctx: RouteContext): NoticeService {
  if (!ctx.engine.notices) throw new HttpError(501, 'this engine keeps no notices');
  return ctx.engine.notices;
}

const decisionBody = {
  contentTypes: ['application/json'],
  required: true,
  schema: {
    type: 'object',
    required: ['reason'],
    properties: {
      reason: { type: 'string', description: 'reason code, e.g. OFT (Other - Free Text)' },
      text: { type: 'string', description: 'free text (needed with OFT)' },
      letter: {
        type: 'object',
        description: 'accept of a discharge notice only: a letter sent with the discharge agreement (an ITK document Bundle in the response)',
        required: ['contentType', 'data'],
        properties: {
          contentType: { type: 'string', description: 'MIME type, e.g. application/pdf' },
          data: { type: 'string', description: 'the file, base64 (the request body is at most 1 MB)' },
          careSetting: { type: 'object', required: ['code', 'display'], properties: { code: { type: 'string' }, display: { type: 'string' } }, description: 'ITK care setting (SNOMED CT) of the council team' },
        },
      },
    },
  },
};

/** The `letter` of a decision body, if any. */
function letterOf(body: Record<string, unknown>): Letter | undefined {
  if (body.letter === undefined) return undefined;
  const l = body.letter;
  if (!l || typeof l !== 'object' || Array.isArray(l)) throw new HttpError(400, 'letter must be an object: { contentType, data (base64), careSetting? }');
  const o = l as Record<string, unknown>;
  const contentType = requiredString(o, 'contentType');
  if (typeof o.data !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(o.data)) throw new HttpError(400, 'letter.data must be the file in base64');
  let careSetting: Letter['careSetting'];
  if (o.careSetting !== undefined) {
    const c = o.careSetting as Record<string, unknown>;
    if (!c || typeof c !== 'object' || Array.isArray(c)) throw new HttpError(400, 'letter.careSetting must be an object: { code, display }');
    careSetting = { code: requiredString(c, 'code'), display: requiredString(c, 'display') };
  }
  return { content: Buffer.from(o.data, 'base64'), contentType, ...(careSetting ? { careSetting } : {}) };
}

function decide(answer: 'accept' | 'reject') {
  return async (ctx: RouteContext, req: Request, res: Response) => {
    const id = String(req.params.id);
    const body = bodyObject(req.body);
    const reasonCode = requiredString(body, 'reason');
    const text = optionalString(body, 'text');
    const letter = letterOf(body);
    try {
      const notice = await service(ctx).decide(id, { answer, reasonCode, ...(text ? { text } : {}), ...(letter ? { letter } : {}), by: `user ${ctx.principal.id}` });
      res.locals.auditMessageId = notice.messageId;
      res.locals.auditDetail = { notice: id, answer, reason: reasonCode, response: notice.responseMessageId, ...(letter ? { letter: letter.contentType } : {}) };
      return noticeToJson(notice);
    } catch (err) {
      if (err instanceof NoticeDecisionError) throw new HttpError(err.status, err.message);
      throw err;
    }
  };
}

export const noticeRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/notices',
    operationId: 'listNotices',
    tag: 'notices',
    summary: 'Hospital notices (ADW), newest first, with their state (no person details)',
    permission: 'notices:read',
    query: [
      { name: 'state', description: 'awaiting, accepted, rejected, withdrawn, answered, or overdue (awaiting past due)', schema: { type: 'string', enum: [...NOTICE_STATES, 'overdue'] } },
      { name: 'type', description: 'notice type', schema: { type: 'string', enum: [...TYPES] } },
      { name: 'channel', description: 'channel id', schema: { type: 'string' } },
      { name: 'limit', description: 'most notices (1-1000, default 100)', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
    ],
    response: { description: 'notices', schema: { type: 'object', properties: { notices: { type: 'array', items: noticeSchema } } } },
    handle: async (ctx, req) => {
      const q = req.query as Record<string, unknown>;
      const state = optionalEnum(q, 'state', [...NOTICE_STATES, 'overdue'] as const);
      const type = optionalEnum(q, 'type', TYPES);
      const channel = optionalString(q, 'channel');
      const limit = optionalInt(q, 'limit', 1, 1000) ?? 100;
      const list = await service(ctx).list({ ...(state ? { state } : {}), ...(type ? { type } : {}), ...(channel ? { channel } : {}), limit });
      return { notices: list.map(noticeToJson) };
    },
  },
  {
    method: 'get',
    path: '/notices/:id',
    operationId: 'getNotice',
    tag: 'notices',
    summary: "One notice with what was read from it: the person, hospital and ward, contacts, expected discharge (a view of the person's data, audited)",
    permission: 'notices:read',
    response: { description: 'the notice and its content', schema: { type: 'object', properties: { notice: noticeSchema, content: { type: 'object' } } } },
    handle: async (ctx, req, res) => {
      const id = String(req.params.id);
      const shown = await service(ctx).show(id, `user ${ctx.principal.id}`);
      if (!shown) throw new HttpError(404, `no notice ${id}`);
      res.locals.auditMessageId = shown.notice.messageId;
      const nhs = (shown.content as { person?: { nhsNumber?: string } } | undefined)?.person?.nhsNumber;
      if (nhs) res.locals.auditPatient = nhs;
      res.locals.auditDetail = { notice: id };
      return { notice: noticeToJson(shown.notice), ...(shown.content ? { content: shown.content } : {}) };
    },
  },
  {
    method: 'post',
    path: '/notices/:id/accept',
    operationId: 'acceptNotice',
    tag: 'notices',
    summary: "Accept a notice (agree a discharge, accept a withdrawal): the response goes back to the hospital; 409 when already answered",
    permission: 'notices:decide',
    body: decisionBody,
    response: { description: 'the notice, answered', schema: noticeSchema },
    handle: decide('accept'),
  },
  {
    method: 'post',
    path: '/notices/:id/reject',
    operationId: 'rejectNotice',
    tag: 'notices',
    summary: 'Reject a notice (disagree a discharge, reject a withdrawal): the response goes back to the hospital; 409 when already answered',
    permission: 'notices:decide',
    body: decisionBody,
    response: { description: 'the notice, answered', schema: noticeSchema },
    handle: decide('reject'),
  },
];
