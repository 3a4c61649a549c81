// Hospital notices (ADW): the list (no person details), one notice (the person, contacts,
// expected discharge, the notices of its episode and its history: a view of the person's data,
// read through the notice service's `show`, which records it, and audited against the person),
// and for roles with notices:decide the Accept / Reject form: check your answers, then send
// (CSRF-checked; the decision goes through the same service as the API and CLI, and is audited).
import express, { type Request, type Response, type Router } from 'express';
import type { Notice } from '../../../adapters/adw/notice.js';
import { allowedReasons, NoticeDecisionError, type NoticeService } from '../../../channels/notice-service.js';
import type { NoticeRecord } from '../../../core/notices.js';
import type { MessageEvent } from '../../../core/store.js';
import { formatNhsNumber } from '../../viewer/format.js';
import { locals, page } from '../access.js';
import { csrfTokenMatches } from '../csrf.js';
import type { FieldError } from '../action-forms.js';
import { NOTICE_KINDS, NOTICE_PAGE_SIZE, NOTICE_STATE_FILTERS, noticeCursor, noticeStateColour, noticeTypeLabel, overdueBy, parseDecision, parseNoticeList, type DecisionForm } from '../notice-form.js';
import { CONSOLE_PAGES } from './table.js';
import { pageContext, selectItems, takeFlash, type PageDeps } from './context.js';

/** How the two answers read for each notice type. */
const ANSWER_LABELS: Record<string, { accept: string; reject: string }> = {
  assessment: { accept: 'Accept the assessment notice', reject: 'Reject the assessment notice' },
  discharge: { accept: 'Agree the discharge', reject: 'Disagree with the discharge' },
  withdrawal: { accept: 'Accept the withdrawal', reject: 'Reject the withdrawal' },
};

const form = express.urlencoded({ extended: false, limit: '16kb' });
const by = (res: Response) => `user ${locals(res).principal!.id}`;

/** What the list and detail pages show of a notice row (no person details). */
function row(n: NoticeRecord, now: Date) {
  return {
    id: n.id,
    channel: n.channel,
    type: noticeTypeLabel(n),
    hospital: n.hospitalOds ?? '',
    ward: n.ward ?? '',
    receivedAt: n.receivedAt,
    dueAt: n.dueAt,
    overdueBy: n.overdue && n.dueAt ? overdueBy(n.dueAt, now) : undefined,
    state: n.state,
    stateColour: noticeStateColour(n.state),
    answer: n.answer,
    withdrawnBy: n.withdrawnBy,
    answerable: n.state === 'awaiting' && n.type !== 'admission',
  };
}

function notFound(deps: PageDeps, req: Request, res: Response, detail = 'No notice has that id.'): void {
  deps.renderer.page(res, pageContext(deps, req, res), 'error.njk', { title: 'Page not found', paragraphs: [detail] }, 404);
}

function unavailable(deps: PageDeps, req: Request, res: Response): void {
  deps.renderer.page(res, pageContext(deps, req, res), 'error.njk', { title: 'This engine keeps no notices', paragraphs: ['No channel takes hospital notices here.'] }, 404);
}

function csrfRefused(deps: PageDeps, req: Request, res: Response): boolean {
  if (csrfTokenMatches(locals(res).session, req.body)) return false;
  locals(res).authFailure = 'CSRF token missing or wrong';
  deps.refusals.forbidden(req, res, 'a valid form');
  return true;
}

/** The channels that take notices (the filter's choices). */
const noticeChannels = (deps: PageDeps) =>
  deps.engine
    .channels()
    .filter((c) => deps.engine.definition(c.id)?.notices)
    .map((c) => c.id);

/** The reason codes the notice's channel allows for each answer. */
function reasonsOf(deps: PageDeps, n: NoticeRecord) {
  const config = deps.engine.definition(n.channel)?.notices;
  return { accept: allowedReasons(config, 'accept'), reject: allowedReasons(config, 'reject') };
}

/** A notice's history: its own message's events, then its response's (views are in the audit trail). */
async function historyOf(deps: PageDeps, n: NoticeRecord) {
  const label = (what: string) => (e: MessageEvent) => ({ ...e, of: what });
  const own = (await deps.engine.store.events(n.messageId)).filter((e) => e.event !== 'notice-viewed').map(label('Notice'));
  const response = n.responseMessageId ? (await deps.engine.store.events(n.responseMessageId)).map(label('Our answer')) : [];
  return [...own, ...response].sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * One list of reasons for both answers (a reveal per answer would need script, and GOV.UK's
 * conditional radios fail axe): a code that applies to one answer only says which.
 */
function reasonItems(reasons: ReturnType<typeof reasonsOf>, selected: string | undefined) {
  const items = [{ value: '', text: 'Choose a reason', selected: !selected }];
  const seen = new Set<string>();
  for (const r of [...reasons.accept, ...reasons.reject]) {
    if (seen.has(r.code)) continue;
    seen.add(r.code);
    const inAccept = reasons.accept.some((x) => x.code === r.code);
    const inReject = reasons.reject.some((x) => x.code === r.code);
    const only = inAccept && inReject ? '' : inAccept ? ' \u2013 when accepting' : ' \u2013 when rejecting';
    items.push({ value: r.code, text: `${r.display} (${r.code})${only}`, selected: r.code === selected });
  }
  return items;
}

interface DetailExtras {
  errors?: FieldError<keyof DecisionForm>[];
  form?: Partial<DecisionForm>;
  conflict?: string;
  status?: number;
}

async function renderDetail(deps: PageDeps, service: NoticeService, req: Request, res: Response, id: string, extras: DetailExtras = {}): Promise<void> {
  const l = locals(res);
  const shown = await service.show(id, by(res));
  if (!shown) return notFound(deps, req, res);
  const now = new Date();
  const n = shown.notice;
  const content = shown.content as Notice | undefined;
  // A view of a person's data, like a message content view: category `view`, filed against the person.
  l.auditCategory = 'view';
  l.auditMessageId = n.messageId;
  if (content?.person.nhsNumber) l.auditPatient = content.person.nhsNumber;
  l.auditDetail = { ...l.auditDetail, notice: id };
  const episode = n.episode ? (await service.list({ episode: n.episode, channel: n.channel, limit: 50 }, now)).sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime()) : [n];
  const reasons = reasonsOf(deps, n);
  const f = extras.form ?? {};
  const errorFor = Object.fromEntries((extras.errors ?? []).map((e) => [e.field, e.text]));
  deps.renderer.page(
    res,
    pageContext(deps, req, res),
    'notice.njk',
    {
      title: `${noticeTypeLabel(n)} notice from ${n.hospitalOds ?? 'a hospital'}`,
      n: row(n, now),
      notice: n,
      content,
      nhsNumber: formatNhsNumber(content?.person.nhsNumber),
      names: (content?.person.names ?? []).map((p) => [...p.prefix, ...p.given, p.family].filter(Boolean).join(' ')),
      episode: episode.map((x) => ({ ...row(x, now), current: x.id === n.id })),
      history: await historyOf(deps, n),
      reasons,
      reasonItems: reasonItems(reasons, f.reasonCode),
      form: f,
      errors: extras.errors ?? [],
      errorFor,
      labels: ANSWER_LABELS[n.type] ?? ANSWER_LABELS.assessment,
      conflict: extras.conflict,
      flash: takeFlash(res),
    },
    extras.status ?? 200,
  );
}

function conflictText(n: NoticeRecord | undefined, fallback: string): string {
  if (!n) return fallback;
  if (n.answer) return `This notice was already ${n.state} by ${n.answer.by} at ${n.answer.at.toISOString().slice(0, 19).replace('T', ' ')} UTC. Nothing was sent.`;
  if (n.state === 'withdrawn') return `The hospital withdrew this notice${n.withdrawnBy ? ` (withdrawal ${n.withdrawnBy})` : ''}. Nothing was sent.`;
  return `${fallback}. Nothing was sent.`;
}

export function noticesRouter(deps: PageDeps): Router {
  const router = express.Router();
  const service = () => deps.engine.notices;

  router.get(CONSOLE_PAGES.notices.path, page(CONSOLE_PAGES.notices, deps.refusals), async (req, res) => {
    const s = service();
    if (!s) return unavailable(deps, req, res);
    const channels = noticeChannels(deps);
    const parsed = parseNoticeList(req.query as Record<string, unknown>, channels);
    const now = new Date();
    const found = parsed.errors.length ? [] : await s.list(parsed.filter, now);
    const shown = found.slice(0, NOTICE_PAGE_SIZE);
    const criteria = Object.fromEntries(Object.entries(parsed.form).filter(([, v]) => v));
    const next = found.length > NOTICE_PAGE_SIZE ? new URLSearchParams({ ...criteria, after: noticeCursor(shown[shown.length - 1]) }) : undefined;
    locals(res).auditDetail = { count: shown.length, criteria: Object.keys(criteria) };
    deps.renderer.page(res, pageContext(deps, req, res), 'notices.njk', {
      title: 'Hospital notices',
      form: parsed.form,
      errors: parsed.errors,
      errorFor: Object.fromEntries(parsed.errors.map((e) => [e.field, e.text])),
      stateItems: selectItems(NOTICE_STATE_FILTERS, parsed.form.state, 'Any state'),
      typeItems: selectItems(NOTICE_KINDS, parsed.form.type, 'Any type'),
      channelItems: selectItems(channels, parsed.form.channel, 'Any channel'),
      notices: shown.map((n) => row(n, now)),
      filtered: Object.keys(criteria).length > 0,
      firstPage: !req.query.after,
      nextHref: next ? `/notices?${next}` : undefined,
      firstHref: `/notices?${new URLSearchParams(criteria)}`,
    });
  });

  router.get(CONSOLE_PAGES.notice.path, page(CONSOLE_PAGES.notice, deps.refusals), async (req, res) => {
    const s = service();
    if (!s) return unavailable(deps, req, res);
    await renderDetail(deps, s, req, res, String(req.params.id));
  });

  // Check your answers: nothing is decided yet; a wrong field comes back to the notice's page.
  router.post(CONSOLE_PAGES.noticeCheck.path, page(CONSOLE_PAGES.noticeCheck, deps.refusals), form, async (req, res) => {
    if (csrfRefused(deps, req, res)) return;
    const s = service();
    if (!s) return unavailable(deps, req, res);
    const id = String(req.params.id);
    const n = await s.get(id);
    if (!n) return notFound(deps, req, res);
    locals(res).auditMessageId = n.messageId;
    const reasons = reasonsOf(deps, n);
    const parsed = parseDecision(req.body as Record<string, unknown>, (a) => reasons[a]);
    if (!parsed.decision) return renderDetail(deps, s, req, res, id, { errors: parsed.errors, form: parsed.form, status: 400 });
    if (n.state !== 'awaiting') return renderDetail(deps, s, req, res, id, { conflict: conflictText(n, `This notice is ${n.state}`), status: 409 });
    const reason = reasons[parsed.decision.answer].find((r) => r.code === parsed.decision!.reasonCode)!;
    deps.renderer.page(res, pageContext(deps, req, res), 'notice-check.njk', {
      title: 'Check your answer before sending it',
      n: row(n, new Date()),
      decision: parsed.decision,
      reason,
    });
  });

  router.post(CONSOLE_PAGES.noticeAnswer.path, page(CONSOLE_PAGES.noticeAnswer, deps.refusals), form, async (req, res) => {
    if (csrfRefused(deps, req, res)) return;
    const s = service();
    if (!s) return unavailable(deps, req, res);
    const l = locals(res);
    const id = String(req.params.id);
    const n = await s.get(id);
    if (!n) return notFound(deps, req, res);
    l.auditMessageId = n.messageId;
    const reasons = reasonsOf(deps, n);
    const parsed = parseDecision(req.body as Record<string, unknown>, (a) => reasons[a]);
    if (!parsed.decision) return renderDetail(deps, s, req, res, id, { errors: parsed.errors, form: parsed.form, status: 400 });
    const { answer, reasonCode, text } = parsed.decision;
    // The free text may name the person: the audit entry says only that it was given.
    l.auditDetail = { notice: id, answer, reasonCode, ...(text ? { text: '(given)' } : {}) };
    try {
      const done = await s.decide(id, { answer, reasonCode, ...(text ? { text } : {}), by: by(res) });
      l.auditDetail.state = done.state;
      l.session!.flash = { kind: 'success', text: `You ${answer === 'accept' ? 'accepted' : 'rejected'} the notice (reason ${reasonCode}). The answer is on its way to ${n.hospitalOds ?? 'the hospital'}.` };
      res.redirect(303, `/notices/${encodeURIComponent(id)}`);
    } catch (err) {
      if (!(err instanceof NoticeDecisionError)) throw err;
      l.auditOutcome = 'failure';
      l.auditDetail.refused = err.status;
      if (err.status === 404) return notFound(deps, req, res);
      if (err.status === 400) return renderDetail(deps, s, req, res, id, { errors: [{ field: 'reasonCode', text: err.message }], form: parsed.form, status: 400 });
      const conflict = err.status === 409 ? conflictText(await s.get(id), err.message) : `${err.message}.`;
      return renderDetail(deps, s, req, res, id, { conflict, status: err.status });
    }
  });

  return router;
}
