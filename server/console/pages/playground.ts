// The mapping playground (mappings:run): choose a mapping, paste an HL7 v2 message or a CLD row,
// see the FHIR output and each issue with its mapping line and input field; run the mapping's
// example cases. Nothing is stored or sent. The pasted text is patient data: it is never logged
// and its audit entry says which mapping ran, how big the input was and how it went — not what it held.
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import { withoutServerPaths } from '../../api/routes/mappings.js';
import { locals, page } from '../access.js';
import { csrfTokenMatches } from '../csrf.js';
import { pageContext, type PageDeps } from './context.js';
import { byteLength, chosenMapping, PLAYGROUND_MAX_BYTES, playgroundChoices, runPlayground, runPlaygroundCases, type PlaygroundChoice, type PlaygroundResult } from './playground-run.js';
import { CONSOLE_PAGES } from './table.js';

/** The form body may be several times the input (URL-encoding of `|`, `^`, line ends), and is refused beyond this. */
const BODY_LIMIT = `${4 * PLAYGROUND_MAX_BYTES}b`;
const TOO_LARGE = `The input is larger than ${PLAYGROUND_MAX_BYTES / 1024 / 1024} MiB: paste one message or one person\u2019s rows`;

interface FormState {
  mapping: string;
  input: string;
  error?: string;
  result?: PlaygroundResult;
  cases?: { name: string; ok: boolean; problems: string[] }[];
}

export function playgroundRouter(deps: PageDeps): Router {
  const router = express.Router();
  const choices = () => playgroundChoices(deps.engine.channels());

  const render = (req: Request, res: Response, state: FormState, status = 200) => {
    const list = choices();
    deps.renderer.page(res, pageContext(deps, req, res), 'playground.njk', {
      title: 'Mapping playground',
      mappingItems: list.map((c) => ({ value: c.value, text: c.label, selected: c.value === state.mapping })),
      ...state,
      passed: state.cases?.filter((c) => c.ok).length,
    }, status);
  };

  router.get(CONSOLE_PAGES.playground.path, page(CONSOLE_PAGES.playground, deps.refusals), (req, res) => {
    const wanted = typeof req.query.mapping === 'string' ? req.query.mapping : '';
    render(req, res, { mapping: choices().some((c) => c.value === wanted) ? wanted : (choices()[0]?.value ?? ''), input: '' });
  });

  /** CSRF and the chosen mapping, shared by both forms; false when the response is already sent. */
  const prepare = (req: Request, res: Response): { choice: PlaygroundChoice; input: string } | false => {
    const l = locals(res);
    if (!csrfTokenMatches(l.session, req.body)) {
      l.authFailure = 'CSRF token missing or wrong';
      deps.refusals.forbidden(req, res, 'a valid form');
      return false;
    }
    const body = req.body as Record<string, unknown>;
    const value = typeof body.mapping === 'string' ? body.mapping : '';
    const input = typeof body.input === 'string' ? body.input : '';
    const choice = choices().find((c) => c.value === value);
    if (!choice) {
      render(req, res, { mapping: '', input, error: 'Choose a mapping from the list' }, 400);
      return false;
    }
    l.auditDetail = { mapping: choice.value };
    return { choice, input };
  };

  router.post(CONSOLE_PAGES.playgroundRun.path, page(CONSOLE_PAGES.playgroundRun, deps.refusals), express.urlencoded({ extended: false, limit: BODY_LIMIT }), (req, res) => {
    const prepared = prepare(req, res);
    if (!prepared) return;
    const { choice, input } = prepared;
    const l = locals(res);
    const bytes = byteLength(input);
    if (bytes > PLAYGROUND_MAX_BYTES) {
      l.auditDetail = { ...l.auditDetail, bytes, ok: false, reason: 'too large' };
      return render(req, res, { mapping: choice.value, input: '', error: TOO_LARGE }, 413);
    }
    const mapping = chosenMapping(choices(), choice.value)!;
    const result = runPlayground(mapping, input);
    const clean: PlaygroundResult = {
      ...result,
      ...(result.error ? { error: withoutServerPaths(result.error) } : {}),
      issues: result.issues.map((i) => ({ ...i, message: withoutServerPaths(i.message) })),
    };
    // Which mapping, how much, and how it went: never the input or the output.
    l.auditDetail = { ...l.auditDetail, bytes, ok: result.ok, issues: result.issues.length };
    render(req, res, { mapping: choice.value, input, result: clean, ...(result.ok ? {} : { error: clean.error }) }, result.ok ? 200 : 422);
  });

  router.post(CONSOLE_PAGES.playgroundCases.path, page(CONSOLE_PAGES.playgroundCases, deps.refusals), express.urlencoded({ extended: false, limit: BODY_LIMIT }), (req, res) => {
    const prepared = prepare(req, res);
    if (!prepared) return;
    const { choice, input } = prepared;
    const mapping = chosenMapping(choices(), choice.value)!;
    const cases = runPlaygroundCases(mapping).map((c) => ({ name: c.name, ok: c.ok, problems: c.problems.map(withoutServerPaths) }));
    locals(res).auditDetail = { mapping: choice.value, cases: cases.length, failed: cases.filter((c) => !c.ok).length };
    // The pasted input stays in the box (it was sent with the form), unless it is too big to show again.
    render(req, res, { mapping: choice.value, input: byteLength(input) <= PLAYGROUND_MAX_BYTES ? input : '', cases });
  });

  // A body beyond the form's limit: the same page with a clear error, not the generic failure page.
  const tooLarge: ErrorRequestHandler = (err: unknown, req, res, next) => {
    if ((err as { type?: string })?.type !== 'entity.too.large' || res.headersSent) return next(err);
    locals(res).auditDetail = { ok: false, reason: 'too large' };
    render(req, res, { mapping: '', input: '', error: TOO_LARGE }, 413);
  };
  router.use(tooLarge);
  return router;
}
