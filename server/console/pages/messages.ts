// Messages: search (metadata), one message (metadata, destinations, history), its content per
// stage — as received, as mapped, and what each destination sent and got back — (roles with
// messages:content only; each view audited as a record view of the patient), and reprocess
// (messages:reprocess; CSRF-checked; audited).
import express, { type Router } from 'express';
import { decodeForDisplay } from '../../../adapters/hl7v2/charset.js';
import { CONTENT_STAGES, DESTINATION_STATUSES, MESSAGE_STATUSES, type MessageRecord, type StoredContent } from '../../../core/store.js';
import { allows } from '../../auth/roles.js';
import { locals, page } from '../access.js';
import { csrfTokenMatches } from '../csrf.js';
import { hl7Segments, looksLikeHl7, prettyJson } from '../hl7-display.js';
import { CONSOLE_PAGES } from './table.js';
import { pageContext, selectItems, takeFlash, type PageDeps } from './context.js';
import { cursorOf, PAGE_SIZE, parseSearch } from './message-search.js';

/** What a stored stage is called on the pages, e.g. `Sent to shared-record`. */
function stageLabel({ stage, destination }: StoredContent): string {
  switch (stage) {
    case 'raw':
      return 'Received (raw)';
    case 'transformed':
      return 'Mapped (transformed)';
    case 'sent':
      return destination ? `Sent to ${destination}` : 'Sent';
    case 'response':
      return destination ? `Response from ${destination}` : 'Response';
  }
}

const contentHref = (id: string, s: StoredContent) =>
  `/messages/${encodeURIComponent(id)}/content/${s.stage}${s.destination ? `?${new URLSearchParams({ destination: s.destination })}` : ''}`;

/** The audit trail files a patient under the NHS number where there is one (as the API does). */
const auditPatientOf = (patientKey: string) => (patientKey.startsWith('nhs:') ? patientKey.slice(4) : patientKey);

const TAG: Record<string, string> = {
  sent: 'green',
  'partially-sent': 'blue',
  queued: 'blue',
  received: 'grey',
  transformed: 'grey',
  filtered: 'grey',
  duplicate: 'grey',
  retrying: 'yellow',
  errored: 'orange',
  rejected: 'red',
  'dead-lettered': 'red',
};
export const tagColour = (status: string) => TAG[status] ?? 'grey';

function listRow(m: MessageRecord) {
  return {
    id: m.id,
    channel: m.channel,
    receivedAt: m.receivedAt,
    messageType: m.messageType ?? '',
    controlId: m.controlId ?? '',
    status: m.status,
    destinations: m.destinations.map((d) => ({ name: d.destination, status: d.status })),
  };
}

export function messagesRouter(deps: PageDeps): Router {
  const router = express.Router();

  router.get(CONSOLE_PAGES.messages.path, page(CONSOLE_PAGES.messages, deps.refusals), async (req, res) => {
    const channels = deps.engine.channels().map((c) => c.id);
    const search = parseSearch(req.query as Record<string, unknown>, channels);
    // A search by NHS number is an access to that person's records, whoever's role: audited against them.
    if (search.patient && !search.errors.length) locals(res).auditPatient = search.patient;
    const found = search.errors.length ? [] : await deps.engine.store.list(search.filter);
    const shown = found.slice(0, PAGE_SIZE);
    const next = found.length > PAGE_SIZE ? new URLSearchParams({ ...Object.fromEntries(Object.entries(search.form).filter(([, v]) => v)), after: cursorOf(shown[shown.length - 1]) }) : undefined;
    locals(res).auditDetail = { count: shown.length, criteria: Object.keys(search.form).filter((k) => search.form[k as keyof typeof search.form]) };
    deps.renderer.page(res, pageContext(deps, req, res), 'messages.njk', {
      title: 'Messages',
      form: search.form,
      errors: search.errors,
      errorFor: Object.fromEntries(search.errors.map((e) => [e.field, e.text])),
      channelItems: selectItems(channels, search.form.channel, 'Any channel'),
      statusItems: selectItems(MESSAGE_STATUSES, search.form.status, 'Any status'),
      destinationItems: selectItems(DESTINATION_STATUSES, search.form.destinationStatus, 'Any'),
      messages: shown.map(listRow),
      firstPage: !req.query.after,
      nextHref: next ? `/messages?${next}` : undefined,
      firstHref: `/messages?${new URLSearchParams(Object.entries(search.form).filter(([, v]) => v))}`,
      tagColour,
    });
  });

  router.get(CONSOLE_PAGES.message.path, page(CONSOLE_PAGES.message, deps.refusals), async (req, res) => {
    const l = locals(res);
    const id = String(req.params.id);
    const m = await deps.engine.store.get(id);
    if (!m) return notFound(deps, req, res, 'No message has that id.');
    l.auditMessageId = id;
    const mayContent = allows(l.principal!.roles, 'messages:content');
    // Patient identifiers are shown to the roles that may see content, and such a view is filed against the patient.
    if (mayContent && m.patientKey) l.auditPatient = auditPatientOf(m.patientKey);
    // Listed without decrypting anything: only a view of one stage opens it (and is audited).
    const stages = mayContent ? (await deps.engine.store.contentStages(id)).map((s) => ({ ...s, label: stageLabel(s), href: contentHref(id, s) })) : [];
    deps.renderer.page(res, pageContext(deps, req, res), 'message.njk', {
      title: `Message ${m.controlId ?? m.id}`,
      m,
      patientKey: mayContent ? m.patientKey : undefined,
      mayContent,
      stages,
      events: await deps.engine.store.events(id),
      tagColour,
      flash: takeFlash(res),
    });
  });

  router.get(CONSOLE_PAGES.messageContent.path, page(CONSOLE_PAGES.messageContent, deps.refusals), async (req, res) => {
    const l = locals(res);
    const id = String(req.params.id);
    const name = CONTENT_STAGES.find((s) => s === req.params.stage);
    const destination = typeof req.query.destination === 'string' && req.query.destination ? req.query.destination : undefined;
    const m = name && (await deps.engine.store.get(id));
    if (!name || !m) return notFound(deps, req, res, 'No message content is stored there.');
    const stage = { stage: name, ...(destination ? { destination } : {}) };
    // A view of a person's data: category `view`, with the patient, like the clinician viewer's.
    l.auditCategory = 'view';
    l.auditMessageId = id;
    if (m.patientKey) l.auditPatient = auditPatientOf(m.patientKey);
    l.auditDetail = stage;
    const bytes = await deps.engine.store.readContent(id, name, destination);
    if (!bytes) return notFound(deps, req, res, 'This stage\u2019s content is not stored (never saved, or removed by retention).');
    const decoded = name === 'raw' ? decodeForDisplay(bytes) : { text: bytes.toString('utf8') };
    const text = decoded.text;
    const label = stageLabel(stage);
    deps.renderer.page(res, pageContext(deps, req, res), 'message-content.njk', {
      title: `${label} content of message ${m.controlId ?? m.id}`,
      m,
      stage: { ...stage, label },
      note: 'note' in decoded ? decoded.note : undefined,
      segments: looksLikeHl7(text) ? hl7Segments(text) : undefined,
      json: prettyJson(text),
      text,
    });
  });

  router.post(CONSOLE_PAGES.reprocess.path, page(CONSOLE_PAGES.reprocess, deps.refusals), express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const l = locals(res);
    const id = String(req.params.id);
    l.auditMessageId = id;
    if (!csrfTokenMatches(l.session, req.body)) {
      l.authFailure = 'CSRF token missing or wrong';
      return deps.refusals.forbidden(req, res, 'a valid form');
    }
    const result = await deps.engine.reprocess([id], l.principal!.id, 'console');
    l.auditDetail = { queued: result.queued.length, skipped: result.skipped.length };
    l.session!.flash = result.queued.length
      ? { kind: 'success', text: 'The message was queued again for its destinations.' }
      : { kind: 'info', text: `The message was not queued again: ${result.skipped[0]?.reason ?? 'unknown reason'}.` };
    res.redirect(303, `/messages/${encodeURIComponent(id)}`);
  });

  return router;
}

function notFound(deps: PageDeps, req: express.Request, res: express.Response, detail: string): void {
  deps.renderer.page(res, pageContext(deps, req, res), 'error.njk', { title: 'Page not found', paragraphs: [detail] }, 404);
}
