// Why are you opening this record? Asked before a person's record opens: a care relationship,
// or emergency access (break glass) with a reason. The answer is kept in the session for that
// person; the record page without one sends the clinician here.
import express, { type Router } from 'express';
import { locals, page } from '../../console/access.js';
import { csrfTokenMatches } from '../../console/csrf.js';
import { parsePurpose, PURPOSES } from '../purpose.js';
import { PERSON_ID, rememberPurpose, viewerContext, viewerState, type ViewerDeps } from './context.js';
import { VIEWER_PAGES } from './table.js';

function show(deps: ViewerDeps, res: express.Response, id: string, o: { choice?: string; reason?: string; error?: { field: string; text: string } } = {}) {
  const state = viewerState(res);
  const person = state.shown.get(id);
  const chosen = o.choice ?? state.purposes.get(id)?.choice;
  deps.renderer.page(res, viewerContext(deps, res), 'purpose.njk', {
    title: o.error ? 'Error: Why do you need to see this record?' : 'Why do you need to see this record?',
    id,
    person,
    choices: PURPOSES.map((p) => ({ ...p, checked: p.value === chosen })),
    reason: o.reason ?? '',
    error: o.error,
  }, o.error ? 400 : 200);
}

function notFound(deps: ViewerDeps, res: express.Response) {
  deps.renderer.page(res, viewerContext(deps, res), 'error.njk', { title: 'Page not found', paragraphs: ['If you typed the web address, check it is correct.'], findAgain: true }, 404);
}

export function purposeRouter(deps: ViewerDeps): Router {
  const router = express.Router();

  router.get(VIEWER_PAGES.purpose.path, page(VIEWER_PAGES.purpose, deps.refusals), (req, res) => {
    const id = String(req.params.id);
    if (!PERSON_ID.test(id)) return notFound(deps, res);
    show(deps, res, id);
  });

  router.post(VIEWER_PAGES.statePurpose.path, page(VIEWER_PAGES.statePurpose, deps.refusals), express.urlencoded({ extended: false, limit: '8kb' }), (req, res) => {
    const l = locals(res);
    const id = String(req.params.id);
    if (!PERSON_ID.test(id)) return notFound(deps, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!csrfTokenMatches(l.session, body)) {
      l.authFailure = 'CSRF token missing or wrong';
      return deps.refusals.forbidden(req, res, 'a valid form');
    }
    const parsed = parsePurpose(body);
    if (!parsed.ok) return show(deps, res, id, { choice: parsed.choice, reason: parsed.reason, error: { field: parsed.field, text: parsed.error } });
    rememberPurpose(res, id, parsed.stated);
    // Which purpose, not the reason's words: those go into the record view's entry.
    l.auditDetail = { purpose: parsed.stated.purpose, breakGlass: Boolean(parsed.stated.breakGlass) };
    res.redirect(303, `/viewer/people/${encodeURIComponent(id)}`);
  });

  return router;
}
