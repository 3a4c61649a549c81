// The audit trail for auditors (audit:read): browse and filter it newest first, one entry in
// full, check the hash chain, download a person's access history as FHIR AuditEvent (as
// `GET /api/audit?patient=…` does), and the report of access by break-glass override. Each of
// these requests is itself an entry in the trail (auditConsole).
import express, { type Router } from 'express';
import { auditBundle } from '../../audit/fhir.js';
import type { AuditTrail } from '../../audit/trail.js';
import { AUDIT_CATEGORIES, AUDIT_OUTCOMES, type AuditRecord } from '../../audit/types.js';
import { locals, page } from '../access.js';
import { csrfTokenMatches } from '../csrf.js';
import { AUDIT_PAGE_SIZE, parseAuditSearch, parseUtcTime, searchParams, trailPatient } from './audit-search.js';
import { pageContext, selectItems, type PageDeps } from './context.js';
import { CONSOLE_PAGES } from './table.js';

export type AuditPageDeps = PageDeps & { trail: Pick<AuditTrail, 'query' | 'verify'> };

/** The most entries one AuditEvent download holds (as the API's limit). */
export const EXPORT_LIMIT = 10_000;

const OUTCOME_TAG: Record<string, string> = { success: 'green', denied: 'red', unauthenticated: 'orange', failure: 'red' };

function row(r: AuditRecord) {
  return {
    seq: r.seq,
    at: r.at,
    category: r.category,
    action: r.action,
    outcome: r.outcome,
    outcomeTag: OUTCOME_TAG[r.outcome] ?? 'grey',
    actor: r.actor ? `${r.actor.id} (${[r.actor.kind, r.actor.role, r.actor.organisation].filter(Boolean).join(', ')})` : '',
    patient: r.patient ?? '',
    target: r.target ?? '',
    breakGlass: r.breakGlass ?? '',
    purpose: r.purpose ?? '',
  };
}

export function auditRouter(deps: AuditPageDeps): Router {
  const router = express.Router();

  router.get(CONSOLE_PAGES.audit.path, page(CONSOLE_PAGES.audit, deps.refusals), async (req, res) => {
    const search = parseAuditSearch(req.query as Record<string, unknown>);
    const found = search.errors.length ? [] : await deps.trail.query(search.filter);
    const shown = found.slice(0, AUDIT_PAGE_SIZE);
    const last = shown[shown.length - 1];
    locals(res).auditDetail = { count: shown.length, criteria: Object.keys(search.form).filter((k) => search.form[k as keyof typeof search.form]) };
    deps.renderer.page(res, pageContext(deps, req, res), 'audit.njk', {
      title: 'Audit trail',
      form: search.form,
      errors: search.errors,
      errorFor: Object.fromEntries(search.errors.map((e) => [e.field, e.text])),
      categoryItems: selectItems(AUDIT_CATEGORIES, search.form.category, 'Any kind'),
      outcomeItems: selectItems(AUDIT_OUTCOMES, search.form.outcome, 'Any outcome'),
      entries: shown.map(row),
      firstPage: !req.query.before,
      nextHref: found.length > AUDIT_PAGE_SIZE && last ? `/audit?${searchParams(search.form, { before: String(last.seq) })}` : undefined,
      firstHref: `/audit?${searchParams(search.form)}`,
      exportHref: search.filter.patient ? `/audit/export?${new URLSearchParams({ patient: search.filter.patient })}` : undefined,
    });
  });

  router.get(CONSOLE_PAGES.auditEntry.path, page(CONSOLE_PAGES.auditEntry, deps.refusals), async (req, res) => {
    const seq = /^\d{1,15}$/.test(String(req.params.seq)) ? Number(req.params.seq) : undefined;
    const [entry] = seq === undefined ? [] : await deps.trail.query({ afterSeq: seq - 1, limit: 1 });
    if (!entry || entry.seq !== seq) {
      return deps.renderer.page(res, pageContext(deps, req, res), 'error.njk', { title: 'Page not found', paragraphs: ['No audit entry has that number.'] }, 404);
    }
    locals(res).auditDetail = { seq };
    deps.renderer.page(res, pageContext(deps, req, res), 'audit-entry.njk', {
      title: `Audit entry ${seq}`,
      entry: row(entry),
      record: entry,
      detail: entry.detail && Object.keys(entry.detail).length ? JSON.stringify(entry.detail, null, 2) : undefined,
    });
  });

  router.get(CONSOLE_PAGES.auditVerify.path, page(CONSOLE_PAGES.auditVerify, deps.refusals), (req, res) => {
    deps.renderer.page(res, pageContext(deps, req, res), 'audit-verify.njk', { title: 'Check the audit trail' });
  });

  router.post(CONSOLE_PAGES.auditVerifyRun.path, page(CONSOLE_PAGES.auditVerifyRun, deps.refusals), express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const l = locals(res);
    if (!csrfTokenMatches(l.session, req.body)) {
      l.authFailure = 'CSRF token missing or wrong';
      return deps.refusals.forbidden(req, res, 'a valid form');
    }
    const noted = typeof req.body?.head === 'string' ? String(req.body.head).trim() : '';
    if (noted && !/^\d{1,15}:[0-9a-f]{64}$/.test(noted)) {
      return deps.renderer.page(res, pageContext(deps, req, res), 'audit-verify.njk', { title: 'Check the audit trail', head: noted, headError: 'Enter the entry noted earlier as its number, a colon and its hash, for example 1234:9f86d0…' }, 400);
    }
    const result = await deps.trail.verify(noted ? { knownHead: { seq: Number(noted.split(':')[0]), hash: noted.split(':')[1] } } : {});
    l.auditDetail = { ok: result.ok, checked: result.checked, ...(result.broken ? { brokenAt: result.broken.seq } : {}) };
    deps.renderer.page(res, pageContext(deps, req, res), 'audit-verify.njk', { title: result.ok ? 'The audit trail is intact' : 'The audit trail is broken', result, head: noted });
  });

  router.get(CONSOLE_PAGES.auditExport.path, page(CONSOLE_PAGES.auditExport, deps.refusals), async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const patient = typeof q.patient === 'string' ? trailPatient(q.patient) : undefined;
    const from = typeof q.from === 'string' ? parseUtcTime(q.from.trim()) : undefined;
    const to = typeof q.to === 'string' ? parseUtcTime(q.to.trim()) : undefined;
    if (!patient) {
      return deps.renderer.page(res, pageContext(deps, req, res), 'error.njk', { title: 'Enter an NHS number', paragraphs: ['The download is one person\u2019s access history: search the trail by NHS number first, then download it.'] }, 400);
    }
    const records = await deps.trail.query({ patient, ...(from ? { from } : {}), ...(to ? { to } : {}), limit: EXPORT_LIMIT });
    locals(res).auditDetail = { count: records.length, exportedFor: patient };
    res.set('Cache-Control', 'no-store');
    res.set('Content-Disposition', `attachment; filename="audit-${patient}.json"`);
    res.type('application/fhir+json').send(`${JSON.stringify(auditBundle(records), null, 2)}\n`);
  });

  router.get(CONSOLE_PAGES.breakGlass.path, page(CONSOLE_PAGES.breakGlass, deps.refusals), async (req, res) => {
    const before = /^\d{1,15}$/.test(String(req.query.before ?? '')) ? Number(req.query.before) : undefined;
    const found = await deps.trail.query({ breakGlass: true, newestFirst: true, limit: AUDIT_PAGE_SIZE + 1, ...(before !== undefined ? { beforeSeq: before } : {}) });
    const shown = found.slice(0, AUDIT_PAGE_SIZE);
    locals(res).auditDetail = { count: shown.length };
    deps.renderer.page(res, pageContext(deps, req, res), 'audit-break-glass.njk', {
      title: 'Break-glass access',
      entries: shown.map(row),
      firstPage: before === undefined,
      nextHref: found.length > AUDIT_PAGE_SIZE ? `/audit/break-glass?before=${shown[shown.length - 1].seq}` : undefined,
    });
  });

  return router;
}
