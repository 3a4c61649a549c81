// /sign-in (the choice of ways in), /sign-in/dev, /sign-in/oidc + /sign-in/callback,
// POST /sign-out (through the provider's end-session endpoint after an OpenID Connect sign-in)
// and /signed-out, where the provider sends the browser back.
import express, { type Router } from 'express';
import { clearSessionCookie, locals, safeReturnTo } from '../access.js';
import { csrfTokenMatches } from '../csrf.js';
import type { Renderer } from '../render.js';
import type { ConsoleSettings } from '../settings.js';
import type { SignInDeps } from './common.js';
import { devSignInRouter } from './dev.js';
import { oidcSignIn, SIGNED_OUT_PATH } from './oidc.js';

export function signInRouter(deps: SignInDeps & { renderer: Renderer; settings: ConsoleSettings; https: boolean }): Router {
  const router = express.Router();
  const { settings } = deps;

  router.get('/sign-in', (req, res) => {
    const l = locals(res);
    l.auditAction = 'console GET /sign-in';
    const returnTo = safeReturnTo(req.query.returnTo);
    const query = returnTo === '/' ? '' : `?${new URLSearchParams({ returnTo })}`;
    const notice =
      req.query.expired === '1'
        ? `You were signed out because you had not used the console for ${Math.round(settings.idleMs / 60_000)} minutes.`
        : req.query.signedOut === '1'
          ? 'You have signed out.'
          : undefined;
    deps.renderer.page(res, { session: l.session, path: req.path, https: deps.https }, 'sign-in.njk', {
      title: 'Sign in',
      notice,
      devSignInBanner: settings.devSignIn,
      ...(settings.oidc ? { oidc: { label: settings.oidc.issuer.host, href: `/sign-in/oidc${query}` } } : {}),
      ...(settings.devSignIn ? { dev: { href: `/sign-in/dev${query}` } } : {}),
    });
  });

  if (settings.devSignIn) router.use('/sign-in/dev', devSignInRouter(deps));
  const oidc = settings.oidc ? oidcSignIn({ ...deps, settings: settings.oidc, publicUrl: settings.publicUrl }) : undefined;
  if (oidc) router.use('/sign-in', oidc.router);

  router.get(SIGNED_OUT_PATH, (req, res) => {
    locals(res).auditAction = `console GET ${SIGNED_OUT_PATH}`;
    res.redirect(303, '/sign-in?signedOut=1');
  });

  router.post('/sign-out', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const l = locals(res);
    l.auditAction = 'console POST /sign-out';
    // A forged sign-out is harmless, but the rule is every form: refuse without the token.
    if (l.session && !csrfTokenMatches(l.session, req.body)) {
      l.authFailure = 'CSRF token missing or wrong';
      l.auditOutcome = 'denied';
      return res.redirect(303, '/');
    }
    const principal = l.session?.principal;
    const idToken = l.session?.idToken;
    if (l.session) deps.sessions.destroy(l.session.id);
    clearSessionCookie(req, res, deps.cookie);
    if (principal) {
      l.audited = false;
      await deps.trail.record({
        category: 'auth',
        action: 'console.sign-out',
        outcome: 'success',
        actor: { id: principal.id, kind: 'session', role: principal.roles.join(',') || undefined, organisation: principal.organisation },
        sourceIp: req.ip ?? req.socket.remoteAddress,
        target: '/sign-out',
      });
    }
    // Signed in through the provider: end its session too, or the next sign-in would pass
    // straight through it (a shared computer). It sends the browser back to /signed-out.
    const endSession = idToken && oidc ? await oidc.endSessionUrl(idToken) : undefined;
    res.redirect(303, endSession?.href ?? '/sign-in?signedOut=1');
  });
  return router;
}
