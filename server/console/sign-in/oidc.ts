// Sign-in with OpenID Connect: authorization code flow with PKCE (S256), state and nonce,
// against the issuer in TRAMLINE_OIDC_ISSUER (Microsoft Entra ID, NHS CIS2, Keycloak, …), with
// `openid-client`. Roles come from a claim of the ID token (or, when it lacks the claim, the
// userinfo response), mapped to Tramline's roles as JWT roles are. The provider's metadata is
// discovered on first use and kept; a failed discovery is tried again at the next sign-in.
// Sign-out ends the provider's session too (RP-initiated logout) when its metadata has an
// `end_session_endpoint`: the ID token kept in the server-side session is the hint.
import express, { type Router } from 'express';
import * as client from 'openid-client';
import { log } from '../../../core/logger.js';
import type { Principal } from '../../auth/roles.js';
import { locals, safeReturnTo } from '../access.js';
import type { Renderer } from '../render.js';
import { organisationFromClaims, rolesFromClaim, type OidcSettings } from '../settings.js';
import { completeSignIn, ensureSession, type SignInDeps } from './common.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Where the provider sends the browser back after ending its session (register it there). */
export const SIGNED_OUT_PATH = '/signed-out';

export interface OidcSignIn {
  /** /oidc and /callback, mounted under /sign-in. */
  router: Router;
  /**
   * The provider's end-session URL for the session signed in with `idToken` (coming back to
   * SIGNED_OUT_PATH), or undefined when the provider has no end_session_endpoint (or cannot
   * be reached): then only Tramline's own session ends.
   */
  endSessionUrl(idToken: string): Promise<URL | undefined>;
}

export function oidcSignIn(deps: SignInDeps & { renderer: Renderer; https: boolean; settings: OidcSettings; publicUrl: string }): OidcSignIn {
  const router = express.Router();
  const s = deps.settings;
  const redirectUri = `${deps.publicUrl}/sign-in/callback`;
  let config: Promise<client.Configuration> | undefined;
  const configuration = () =>
    (config ??= (async () => {
      // Plain http only for an issuer on this machine (a local test provider), never across a network.
      const insecure = s.issuer.protocol === 'http:' && LOOPBACK.has(s.issuer.hostname);
      const auth = s.clientSecret ? client.ClientSecretPost(s.clientSecret) : client.None();
      const found = await client.discovery(s.issuer, s.clientId, undefined, auth, insecure ? { execute: [client.allowInsecureRequests] } : undefined);
      // The sign-out form's redirect goes there: its pages' form-action must allow it.
      const endSession = found.serverMetadata().end_session_endpoint;
      if (endSession) deps.renderer.allowFormAction(new URL(endSession).origin);
      return found;
    })().catch((err: unknown) => {
      config = undefined;
      throw err;
    }));

  const failed = (req: express.Request, res: express.Response, reason: string) => {
    const l = locals(res);
    l.authFailure = reason;
    l.auditCategory = 'auth';
    l.auditOutcome = 'unauthenticated';
    deps.renderer.page(res, { session: l.session, path: req.path, https: deps.https }, 'error.njk', {
      title: 'You could not be signed in',
      paragraphs: ['Signing in with your organisation\u2019s account did not work. Try again; if it keeps failing, tell your administrator.'],
      retry: '/sign-in',
    }, 401);
  };

  router.get('/oidc', async (req, res) => {
    locals(res).auditAction = 'console GET /sign-in/oidc';
    let found: client.Configuration;
    try {
      found = await configuration();
    } catch (err) {
      log.error({ reason: (err as Error).message }, 'OpenID Connect discovery failed');
      return failed(req, res, 'identity provider unreachable');
    }
    const session = ensureSession(deps, req, res);
    const codeVerifier = client.randomPKCECodeVerifier();
    session.oidc = { codeVerifier, state: client.randomState(), nonce: client.randomNonce(), returnTo: safeReturnTo(req.query.returnTo) };
    const url = client.buildAuthorizationUrl(found, {
      redirect_uri: redirectUri,
      scope: s.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: session.oidc.state,
      nonce: session.oidc.nonce,
    });
    res.redirect(303, url.href);
  });

  router.get('/callback', async (req, res) => {
    const l = locals(res);
    l.auditAction = 'console GET /sign-in/callback';
    const pending = l.session?.oidc;
    if (!pending) return failed(req, res, 'no sign-in in progress for this session');
    l.session!.oidc = undefined;
    let principal: Principal;
    let idToken: string | undefined;
    try {
      const found = await configuration();
      // The URL as the provider redirected to it: our public address, never the Host header.
      const current = new URL(req.originalUrl, deps.publicUrl);
      const tokens = await client.authorizationCodeGrant(found, current, { pkceCodeVerifier: pending.codeVerifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true });
      const claims = tokens.claims()!;
      idToken = tokens.id_token;
      let rolesClaim: unknown = claims[s.rolesClaim];
      let name = typeof claims.name === 'string' ? claims.name : undefined;
      let organisation = organisationFromClaims(claims, s.orgClaim);
      // NHS CIS2 puts roles and organisations in userinfo rather than the ID token.
      if ((rolesClaim === undefined || organisation === undefined) && found.serverMetadata().userinfo_endpoint) {
        const info = await client.fetchUserInfo(found, tokens.access_token, claims.sub);
        rolesClaim ??= info[s.rolesClaim];
        name ??= typeof info.name === 'string' ? info.name : undefined;
        organisation ??= organisationFromClaims(info, s.orgClaim);
      }
      principal = { kind: 'session', id: claims.sub, roles: rolesFromClaim(rolesClaim, s.roleMap), ...(name ? { name } : {}), ...(organisation ? { organisation } : {}) };
    } catch (err) {
      log.warn({ reason: (err as Error).name, code: (err as { code?: string }).code }, 'OpenID Connect sign-in failed');
      return failed(req, res, `OpenID Connect: ${(err as { code?: string }).code ?? (err as Error).name}`);
    }
    await completeSignIn(deps, req, res, principal, 'oidc', pending.returnTo, idToken);
  });

  const endSessionUrl = async (idToken: string): Promise<URL | undefined> => {
    let found: client.Configuration;
    try {
      found = await configuration();
    } catch (err) {
      log.warn({ reason: (err as Error).message }, 'OpenID Connect discovery failed; signed out of Tramline only');
      return undefined;
    }
    if (!found.serverMetadata().end_session_endpoint) return undefined;
    return client.buildEndSessionUrl(found, { id_token_hint: idToken, post_logout_redirect_uri: `${deps.publicUrl}${SIGNED_OUT_PATH}` });
  };
  return { router, endSessionUrl };
}
