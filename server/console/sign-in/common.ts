// What every way of signing in shares: a session before sign-in (it carries the CSRF token and
// the OIDC state), and the end of a successful sign-in — a new session id, audited.
import type { Request, Response } from 'express';
import type { AuditTrail } from '../../audit/trail.js';
import type { Principal } from '../../auth/roles.js';
import { locals, safeReturnTo, setSessionCookie, type CookieSettings } from '../access.js';
import { landingPage } from '../render.js';
import type { ConsoleSession, SessionStore } from '../sessions.js';

export interface SignInDeps {
  sessions: SessionStore;
  cookie: CookieSettings;
  /** The audit trail itself: sign-ins and sign-outs are never folded into counts. */
  trail: Pick<AuditTrail, 'record'>;
}

/** The request's session, or a new anonymous one (cookie set). */
export function ensureSession(deps: SignInDeps, req: Request, res: Response): ConsoleSession {
  const l = locals(res);
  if (l.session) return l.session;
  const session = deps.sessions.create();
  setSessionCookie(req, res, deps.cookie, session);
  l.session = session;
  return session;
}

/** `idToken`: an OpenID Connect sign-in's ID token, kept in the session for the sign-out (see oidc.ts). */
export async function completeSignIn(deps: SignInDeps, req: Request, res: Response, principal: Principal, method: 'dev' | 'oidc', returnTo: unknown, idToken?: string): Promise<void> {
  const l = locals(res);
  const before = ensureSession(deps, req, res);
  before.oidc = undefined;
  const session = deps.sessions.rotate(before);
  session.principal = principal;
  session.signedInAt = Date.now();
  session.idToken = idToken;
  setSessionCookie(req, res, deps.cookie, session);
  l.session = session;
  l.principal = principal;
  l.audited = false;
  await deps.trail.record({
    category: 'auth',
    action: 'console.sign-in',
    outcome: 'success',
    actor: { id: principal.id, kind: 'session', role: principal.roles.join(',') || undefined, organisation: principal.organisation },
    sourceIp: req.ip ?? req.socket.remoteAddress,
    target: '/sign-in',
    detail: { method, roles: principal.roles },
  });
  res.redirect(303, landingPage(principal, safeReturnTo(returnTo)));
}
