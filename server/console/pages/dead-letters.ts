// Dead letters per destination: the list (reason, attempts, when; no content), replay one,
// replay all (after a confirmation page), discard one or several with a reason (after a
// confirmation page). Every POST is CSRF-checked; every request audited with what it did.
import express, { type Request, type Response, type Router } from 'express';
import type { DeadLetterInfo } from '../../api/facade.js';
import { locals, page } from '../access.js';
import { parseDiscardForm } from '../action-forms.js';
import { csrfTokenMatches } from '../csrf.js';
import { CONSOLE_PAGES } from './table.js';
import { pageContext, takeFlash, type PageDeps } from './context.js';

/** The most dead letters listed per destination. */
const LIST_LIMIT = 500;

const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 2000 });

function destinationsOf(deps: PageDeps): string[] {
  return deps.engine.channels().flatMap((c) => c.destinations.map((d) => d.id));
}

function row(d: DeadLetterInfo) {
  return { messageId: d.messageId, controlId: d.headers.controlId ?? '', messageType: d.headers.messageType ?? '', reason: d.reason, attempts: d.attempts, at: d.deadLetteredAt };
}

/** A POST without the session's CSRF token does nothing: the 403 page. */
function csrfRefused(deps: PageDeps, req: Request, res: Response): boolean {
  if (csrfTokenMatches(locals(res).session, req.body)) return false;
  locals(res).authFailure = 'CSRF token missing or wrong';
  deps.refusals.forbidden(req, res, 'a valid form');
  return true;
}

function notFound(deps: PageDeps, req: Request, res: Response, detail: string): void {
  deps.renderer.page(res, pageContext(deps, req, res), 'error.njk', { title: 'Page not found', paragraphs: [detail] }, 404);
}

const listHref = (destination: string) => `/dead-letters?destination=${encodeURIComponent(destination)}`;

export function deadLettersRouter(deps: PageDeps): Router {
  const router = express.Router();

  router.get(CONSOLE_PAGES.deadLetters.path, page(CONSOLE_PAGES.deadLetters, deps.refusals), async (req, res) => {
    const all = destinationsOf(deps);
    const only = typeof req.query.destination === 'string' ? req.query.destination : '';
    if (only && !all.includes(only)) return notFound(deps, req, res, 'No destination with that id is deployed.');
    const groups = [];
    for (const destination of only ? [only] : all) {
      const letters = await deps.engine.deadLetters(destination, LIST_LIMIT);
      // On the page of every destination, only those with dead letters; on one destination's page, that one.
      if (letters.length || only) groups.push({ destination, letters: letters.map(row), limited: letters.length >= LIST_LIMIT });
    }
    locals(res).auditDetail = { destination: only || undefined, count: groups.reduce((n, g) => n + g.letters.length, 0) };
    deps.renderer.page(res, pageContext(deps, req, res), 'dead-letters.njk', {
      title: only ? `Dead letters of ${only}` : 'Dead letters',
      only,
      groups,
      flash: takeFlash(res),
    });
  });

  router.post(CONSOLE_PAGES.deadLetterReplay.path, page(CONSOLE_PAGES.deadLetterReplay, deps.refusals), form, async (req, res) => {
    if (csrfRefused(deps, req, res)) return;
    const l = locals(res);
    const body = req.body as Record<string, unknown>;
    const destination = typeof body.destination === 'string' ? body.destination : '';
    if (!destinationsOf(deps).includes(destination)) return notFound(deps, req, res, 'No destination with that id is deployed.');
    const messageId = typeof body.messageId === 'string' && body.messageId ? body.messageId : undefined;
    if (!messageId && body.all !== 'yes') return notFound(deps, req, res, 'Say which dead letter to replay.');
    if (messageId) l.auditMessageId = messageId;
    const replayed = await deps.engine.replayDeadLetters(destination, messageId ? [messageId] : undefined, l.principal!.id, 'console');
    l.auditDetail = { destination, replayed, ...(messageId ? {} : { all: true }) };
    l.session!.flash = replayed
      ? { kind: 'success', text: `${replayed} dead letter${replayed === 1 ? '' : 's'} put back on the queue of ${destination}.` }
      : { kind: 'info', text: 'Nothing was replayed: the dead letter had already gone (replayed or discarded by someone else).' };
    res.redirect(303, listHref(destination));
  });

  router.get(CONSOLE_PAGES.deadLetterReplayAll.path, page(CONSOLE_PAGES.deadLetterReplayAll, deps.refusals), async (req, res) => {
    const destination = typeof req.query.destination === 'string' ? req.query.destination : '';
    if (!destinationsOf(deps).includes(destination)) return notFound(deps, req, res, 'No destination with that id is deployed.');
    const count = (await deps.engine.deadLetters(destination, 10_000)).length;
    deps.renderer.page(res, pageContext(deps, req, res), 'dead-letters-replay-all.njk', { title: `Replay every dead letter of ${destination}?`, destination, count, back: listHref(destination) });
  });

  router.get(CONSOLE_PAGES.deadLetterDiscardConfirm.path, page(CONSOLE_PAGES.deadLetterDiscardConfirm, deps.refusals), async (req, res) => {
    const parsed = parseDiscardForm(req.query as Record<string, unknown>, destinationsOf(deps), false);
    await discardPage(deps, req, res, parsed, false);
  });

  router.post(CONSOLE_PAGES.deadLetterDiscard.path, page(CONSOLE_PAGES.deadLetterDiscard, deps.refusals), form, async (req, res) => {
    if (csrfRefused(deps, req, res)) return;
    const l = locals(res);
    const parsed = parseDiscardForm(req.body as Record<string, unknown>, destinationsOf(deps), true);
    if (parsed.errors.length) return discardPage(deps, req, res, parsed, true);
    const discarded = await deps.engine.discardDeadLetters(parsed.destination, parsed.messageIds, parsed.reason, l.principal!.id);
    if (parsed.messageIds.length === 1) l.auditMessageId = parsed.messageIds[0];
    l.auditDetail = { destination: parsed.destination, discarded, messageIds: parsed.messageIds, reason: parsed.reason };
    l.session!.flash = { kind: 'success', text: `${discarded} dead letter${discarded === 1 ? '' : 's'} discarded from ${parsed.destination}.` };
    res.redirect(303, listHref(parsed.destination));
  });

  return router;
}

/** The discard confirmation: the dead letters chosen, a reason to give; or what is wrong with the choice. */
async function discardPage(deps: PageDeps, req: Request, res: Response, parsed: ReturnType<typeof parseDiscardForm>, submitted: boolean): Promise<void> {
  if (parsed.errors.some((e) => e.field === 'destination')) return notFound(deps, req, res, 'No destination with that id is deployed.');
  const letters = (await deps.engine.deadLetters(parsed.destination, 10_000)).filter((d) => parsed.messageIds.includes(d.messageId)).map(row);
  // Errors are shown once the form was sent; arriving with nothing selected says so too.
  const errors = parsed.errors.filter((e) => submitted || e.field === 'messageIds');
  deps.renderer.page(
    res,
    pageContext(deps, req, res),
    'dead-letters-discard.njk',
    {
      title: `Discard ${letters.length === 1 ? 'a dead letter' : `${letters.length} dead letters`} of ${parsed.destination}?`,
      destination: parsed.destination,
      letters,
      reason: parsed.reason,
      errors,
      errorFor: Object.fromEntries(errors.map((e) => [e.field, e.text])),
      back: listHref(parsed.destination),
    },
    errors.length ? 400 : 200,
  );
}
