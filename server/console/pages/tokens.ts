// API tokens (admins, tokens:manage): the list (names, roles, dates; never a secret), a form to
// create one (the token is shown once, on the page that answers the form, and never again),
// revoke after a confirmation page. Every POST is CSRF-checked and audited (never the secret).
import express, { type Request, type Response, type Router } from 'express';
import type { TokenStore } from '../../auth/tokens.js';
import { InvalidTokenRequest } from '../../auth/tokens.js';
import { locals, page } from '../access.js';
import { parseTokenForm, TOKEN_ROLES, type ParsedTokenForm } from '../action-forms.js';
import { csrfTokenMatches } from '../csrf.js';
import { CONSOLE_PAGES } from './table.js';
import { pageContext, takeFlash, type PageDeps } from './context.js';

export type ConsoleTokens = Pick<TokenStore, 'create' | 'list' | 'revoke'>;

const form = express.urlencoded({ extended: false, limit: '4kb' });

const ROLE_HINTS: Record<string, string> = {
  admin: 'everything, including tokens',
  engineer: 'channels, messages with content, mappings, dead letters',
  operator: 'status, message metadata, reprocess, replay',
  clinician: 'the clinician viewer',
  auditor: 'the audit trail',
  sender: 'only posting records to /inbound/<channel>',
};

function csrfRefused(deps: PageDeps, req: Request, res: Response): boolean {
  if (csrfTokenMatches(locals(res).session, req.body)) return false;
  locals(res).authFailure = 'CSRF token missing or wrong';
  deps.refusals.forbidden(req, res, 'a valid form');
  return true;
}

function newTokenPage(deps: PageDeps, req: Request, res: Response, parsed: Pick<ParsedTokenForm, 'form' | 'errors'>, status = 200): void {
  deps.renderer.page(
    res,
    pageContext(deps, req, res),
    'token-new.njk',
    {
      title: 'Create an API token',
      form: parsed.form,
      errors: parsed.errors,
      errorFor: Object.fromEntries(parsed.errors.map((e) => [e.field, e.text])),
      roleItems: TOKEN_ROLES.map((r) => ({ value: r, text: r, hint: { text: ROLE_HINTS[r] }, checked: parsed.form.role === r })),
    },
    status,
  );
}

export function tokensRouter(deps: PageDeps & { tokens: ConsoleTokens }): Router {
  const router = express.Router();

  router.get(CONSOLE_PAGES.tokens.path, page(CONSOLE_PAGES.tokens, deps.refusals), async (req, res) => {
    const tokens = await deps.tokens.list();
    deps.renderer.page(res, pageContext(deps, req, res), 'tokens.njk', { title: 'API tokens', tokens, flash: takeFlash(res) });
  });

  router.get(CONSOLE_PAGES.tokenNew.path, page(CONSOLE_PAGES.tokenNew, deps.refusals), (req, res) => {
    newTokenPage(deps, req, res, { form: { name: '', role: '', expiresInDays: '90' }, errors: [] });
  });

  router.post(CONSOLE_PAGES.tokenCreate.path, page(CONSOLE_PAGES.tokenCreate, deps.refusals), form, async (req, res) => {
    if (csrfRefused(deps, req, res)) return;
    const l = locals(res);
    const parsed = parseTokenForm(req.body as Record<string, unknown>);
    if (!parsed.request) return newTokenPage(deps, req, res, parsed, 400);
    try {
      const created = await deps.tokens.create(parsed.request);
      l.auditDetail = { id: created.id, name: created.name, roles: created.roles, ...(created.expiresAt ? { expiresAt: created.expiresAt.toISOString() } : {}) };
      // The only time the secret exists outside the client: this response, never cached.
      deps.renderer.page(res, pageContext(deps, req, res), 'token-created.njk', { title: 'API token created', created }, 201);
    } catch (err) {
      if (!(err instanceof InvalidTokenRequest)) throw err;
      newTokenPage(deps, req, res, { form: parsed.form, errors: [{ field: 'name', text: err.message }] }, 400);
    }
  });

  router.get(CONSOLE_PAGES.tokenRevokeConfirm.path, page(CONSOLE_PAGES.tokenRevokeConfirm, deps.refusals), async (req, res) => {
    const token = (await deps.tokens.list()).find((t) => t.id === req.params.id);
    if (!token) return deps.renderer.page(res, pageContext(deps, req, res), 'error.njk', { title: 'Page not found', paragraphs: ['No live token has that id (it may have been revoked already).'] }, 404);
    deps.renderer.page(res, pageContext(deps, req, res), 'token-revoke.njk', { title: `Revoke the token ${token.name}?`, token });
  });

  router.post(CONSOLE_PAGES.tokenRevoke.path, page(CONSOLE_PAGES.tokenRevoke, deps.refusals), form, async (req, res) => {
    if (csrfRefused(deps, req, res)) return;
    const l = locals(res);
    const id = String(req.params.id);
    // By id only: the store also revokes by name, which a form must not do by accident.
    const token = (await deps.tokens.list()).find((t) => t.id === id);
    const revoked = token ? await deps.tokens.revoke(token.id) : 0;
    l.auditDetail = { id, ...(token ? { name: token.name } : {}), revoked };
    l.session!.flash = revoked ? { kind: 'success', text: `The token ${token!.name} was revoked: it no longer works.` } : { kind: 'info', text: 'Nothing was revoked: no live token has that id.' };
    res.redirect(303, CONSOLE_PAGES.tokens.path);
  });

  return router;
}
