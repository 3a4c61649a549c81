// The local development sign-in page: offered only while the engine trusts the development
// issuer (TRAMLINE_AUTH_DEV_ISSUER=true), clearly marked, with one seeded user per role.
import express, { type Router } from 'express';
import { ROLES, type Principal, type Role } from '../../auth/roles.js';
import { locals, safeReturnTo } from '../access.js';
import { csrfTokenMatches } from '../csrf.js';
import type { Renderer } from '../render.js';
import { completeSignIn, ensureSession, type SignInDeps } from './common.js';

export interface DevUser {
  id: string;
  name: string;
  role: Role;
  organisation: string;
}

const NAMES: Record<Role, string> = {
  admin: 'Ada Admin',
  engineer: 'Eli Engineer',
  operator: 'Olu Operator',
  clinician: 'Cleo Clinician',
  auditor: 'Aud Auditor',
  sender: 'Sid Sender',
};

/**
 * Each development user's organisation (ODS code), shown in the viewer's header and written to
 * the audit trail. The clinician works at a hospital trust (RXL, Blackpool Teaching Hospitals),
 * as a clinician signing in with NHS CIS2 would; the others at a made-up `DEV`.
 */
const ORGANISATIONS: Partial<Record<Role, string>> = { clinician: 'RXL' };

/** One development user per role (`dev.<role>`). */
export const DEV_USERS: DevUser[] = ROLES.map((role) => ({ id: `dev.${role}`, name: NAMES[role], role, organisation: ORGANISATIONS[role] ?? 'DEV' }));

export function devSignInRouter(deps: SignInDeps & { renderer: Renderer; https: boolean }): Router {
  const router = express.Router();
  const show = (req: express.Request, res: express.Response, returnTo: string, error?: string) => {
    const session = ensureSession(deps, req, res);
    deps.renderer.page(
      res,
      { session, path: req.path, https: deps.https },
      'dev-sign-in.njk',
      {
        title: 'Development sign-in',
        devSignInBanner: true,
        returnTo,
        error,
        users: DEV_USERS.map((u) => ({ value: u.id, text: `${u.name} (${u.role})`, hint: { text: `user ${u.id}` } })),
      },
      error ? 400 : 200,
    );
  };
  router.get('/', (req, res) => {
    locals(res).auditAction = 'console GET /sign-in/dev';
    show(req, res, safeReturnTo(req.query.returnTo));
  });
  router.post('/', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const l = locals(res);
    l.auditAction = 'console POST /sign-in/dev';
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!csrfTokenMatches(l.session, body)) {
      l.authFailure = 'CSRF token missing or wrong';
      l.auditCategory = 'auth';
      l.auditOutcome = 'denied';
      return show(req, res, safeReturnTo(body.returnTo), 'The page had expired. Choose a user and sign in again.');
    }
    const user = DEV_USERS.find((u) => u.id === body.user);
    if (!user) return show(req, res, safeReturnTo(body.returnTo), 'Choose a user to sign in as');
    const principal: Principal = { kind: 'session', id: user.id, roles: [user.role], organisation: user.organisation, name: user.name };
    await completeSignIn(deps, req, res, principal, 'dev', body.returnTo);
  });
  return router;
}
