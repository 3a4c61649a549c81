// Find a person: by NHS number, or by last name and date of birth (with first name, postcode
// and gender to narrow it). The search is a POST (with the session's CSRF token) so NHS numbers
// and names never sit in URLs, browser history or proxy logs. Each search is written to the
// audit trail before its results are shown.
import express, { type Router } from 'express';
import { log } from '../../../core/logger.js';
import { locals, page } from '../../console/access.js';
import { csrfTokenMatches } from '../../console/csrf.js';
import { searchEntries } from '../audit.js';
import { formatDate, formatNhsNumber } from '../format.js';
import { InvalidQueryError } from '../model.js';
import { describeSearch, emptySearch, GENDERS, parseSearch, type FieldError, type SearchForm } from '../search-form.js';
import { dataOf, recordFailed, unavailable, viewerContext, viewerState, withinTime, type ViewerDeps } from './context.js';
import { VIEWER_PAGES } from './table.js';

/** The most people one search shows: more means the search should be narrowed. */
export const MAX_RESULTS = 20;

function genderItems(selected: string) {
  return [{ value: '', text: 'Any' }, ...GENDERS.map((g) => ({ value: g, text: g.charAt(0).toUpperCase() + g.slice(1), selected: g === selected }))];
}

function showForm(deps: ViewerDeps, req: express.Request, res: express.Response, form: SearchForm, errors: FieldError[] = []) {
  deps.renderer.page(res, viewerContext(deps, res), 'find.njk', {
    title: errors.length ? 'Error: Find a person' : 'Find a person',
    form,
    errors,
    errorFor: Object.fromEntries(errors.map((e) => [e.href.slice(1), e.text])),
    genderItems: genderItems(form.gender),
  }, errors.length ? 400 : 200);
}

export function findRouter(deps: ViewerDeps): Router {
  const router = express.Router();

  router.get(VIEWER_PAGES.find.path, page(VIEWER_PAGES.find, deps.refusals), (req, res) => {
    showForm(deps, req, res, emptySearch());
  });

  router.post(VIEWER_PAGES.search.path, page(VIEWER_PAGES.search, deps.refusals), express.urlencoded({ extended: false, limit: '8kb' }), async (req, res, next) => {
    const l = locals(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!csrfTokenMatches(l.session, body)) {
      l.authFailure = 'CSRF token missing or wrong';
      return deps.refusals.forbidden(req, res, 'a valid form');
    }
    const parsed = parseSearch(body);
    if (!parsed.query) return showForm(deps, req, res, parsed.form, parsed.errors);
    const query = parsed.query;
    const principal = l.principal!;
    const sourceIp = req.ip ?? req.socket.remoteAddress;
    try {
      const found = await withinTime(deps, () => dataOf(deps).find(query));
      const shown = found.slice(0, MAX_RESULTS);
      // The search's own entries replace the console's request entry.
      l.audited = false;
      for (const entry of searchEntries({ principal, query, found: shown, sourceIp })) await deps.trail.append(entry);
      const state = viewerState(res);
      state.shown = new Map(shown.map((p) => [p.id, p]));
      deps.renderer.page(res, viewerContext(deps, res), 'results.njk', {
        title: shown.length ? 'People found' : 'No one found',
        people: shown,
        more: found.length > shown.length,
        searched: describeSearch(query, formatNhsNumber, formatDate),
        by: query.kind,
      });
    } catch (err) {
      // A query the record module cannot run (the form's checks should have caught it): said on the form.
      if (err instanceof InvalidQueryError) return showForm(deps, req, res, parsed.form, [{ href: query.kind === 'nhs-number' ? '#nhsNumber' : '#family', text: err.message }]);
      const reason = recordFailed(err);
      if (!reason) return next(err);
      log.warn({ reason, detail: (err as Error).message }, 'viewer search failed');
      l.audited = false;
      for (const entry of searchEntries({ principal, query, found: [], sourceIp, outcome: 'failure', reason })) await deps.trail.append(entry);
      unavailable(deps, req, res);
    }
  });

  return router;
}
