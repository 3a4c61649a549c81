// Audit: the FHIR AuditEvent export (`GET /api/audit?patient=…&from=…&to=…` returns a Bundle),
// raw entries for paging through, and a chain check.
import { auditBundle } from '../../audit/fhir.js';
import { AUDIT_CATEGORIES, AUDIT_OUTCOMES, type AuditFilter } from '../../audit/types.js';
import { optionalDate, optionalEnum, optionalInt, optionalString } from '../params.js';
import type { ApiRoute, QueryParameter } from '../route.js';

const queryParameters: QueryParameter[] = [
  { name: 'patient', description: 'NHS number: entries about this person (record views, searches, content reads)', schema: { type: 'string' } },
  { name: 'from', description: 'at or after (ISO 8601)', schema: { type: 'string', format: 'date-time' } },
  { name: 'to', description: 'before (ISO 8601)', schema: { type: 'string', format: 'date-time' } },
  { name: 'category', description: 'kind of entry', schema: { type: 'string', enum: [...AUDIT_CATEGORIES] } },
  { name: 'outcome', description: 'outcome', schema: { type: 'string', enum: [...AUDIT_OUTCOMES] } },
  { name: 'actor', description: 'user id or token name', schema: { type: 'string' } },
  { name: 'messageId', description: 'entries about one message', schema: { type: 'string' } },
  { name: 'limit', description: 'most entries (1-10000, default 1000)', schema: { type: 'integer', minimum: 1, maximum: 10000 } },
];

function filterOf(q: Record<string, unknown>): AuditFilter {
  return {
    patient: optionalString(q, 'patient'),
    from: optionalDate(q, 'from'),
    to: optionalDate(q, 'to'),
    category: optionalEnum(q, 'category', AUDIT_CATEGORIES),
    outcome: optionalEnum(q, 'outcome', AUDIT_OUTCOMES),
    actor: optionalString(q, 'actor'),
    messageId: optionalString(q, 'messageId'),
    limit: optionalInt(q, 'limit', 1, 10_000) ?? 1000,
  };
}

export const auditRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/audit',
    operationId: 'exportAudit',
    tag: 'audit',
    summary: 'Audit entries as a FHIR R4 Bundle of AuditEvent resources (e.g. a patient\'s access history), oldest first',
    permission: 'audit:read',
    query: queryParameters,
    response: { description: 'FHIR R4 searchset Bundle of AuditEvent', contentType: 'application/fhir+json', schema: { type: 'object', properties: { resourceType: { const: 'Bundle' } } } },
    handle: async (ctx, req, res) => {
      const filter = filterOf(req.query as Record<string, unknown>);
      const records = await ctx.audit.query(filter);
      res.locals.auditDetail = { count: records.length, ...(filter.patient ? { exportedFor: filter.patient } : {}) };
      res.type('application/fhir+json');
      return auditBundle(records);
    },
  },
  {
    method: 'get',
    path: '/audit/entries',
    operationId: 'queryAudit',
    tag: 'audit',
    summary: 'Audit entries as stored (seq, hashes and all), for paging with afterSeq',
    permission: 'audit:read',
    query: [...queryParameters, { name: 'afterSeq', description: 'entries after this sequence number', schema: { type: 'integer', minimum: 0 } }],
    response: { description: 'entries', schema: { type: 'object', properties: { entries: { type: 'array', items: { type: 'object' } } } } },
    handle: async (ctx, req) => {
      const q = req.query as Record<string, unknown>;
      const entries = await ctx.audit.query({ ...filterOf(q), afterSeq: optionalInt(q, 'afterSeq', 0, Number.MAX_SAFE_INTEGER) });
      return { entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })) };
    },
  },
  {
    method: 'get',
    path: '/audit/verify',
    operationId: 'verifyAudit',
    tag: 'audit',
    summary: "Check the audit trail's hash chain end to end; names the first broken entry",
    permission: 'audit:read',
    query: [{ name: 'head', description: 'an entry noted earlier, `<seq>:<hash>`: it must still be there unchanged', schema: { type: 'string', pattern: '^\\d+:[0-9a-f]{64}$' } }],
    response: {
      description: 'the check result',
      schema: { type: 'object', properties: { ok: { type: 'boolean' }, checked: { type: 'integer' }, head: { type: 'object' }, broken: { type: 'object', properties: { seq: { type: 'integer' }, reason: { type: 'string' } } } } },
    },
    handle: async (ctx, req) => {
      const head = optionalString(req.query as Record<string, unknown>, 'head', /^\d+:[0-9a-f]{64}$/);
      return ctx.audit.verify(head ? { knownHead: { seq: Number(head.split(':')[0]), hash: head.split(':')[1] } } : {});
    },
  },
];
