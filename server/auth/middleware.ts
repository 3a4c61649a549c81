// Express middleware: who is calling (401 when nobody we trust, 429 after too many failed
// attempts from one address) and may they (403). The answers are JSON — a FHIR
// OperationOutcome under /fhir — and are audited by the request audit
// (server/http/request-audit.ts), which reads the principal left in res.locals.
import type { Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { operationOutcome } from '../fhir/outcome.js';
import { sendError } from '../http/errors.js';
import { JwtRejected, type JwtVerifier } from './jwt.js';
import { allows, type Permission, type Principal } from './roles.js';
import type { AuthSettings } from './settings.js';
import { TOKEN_PREFIX, type TokenStore } from './tokens.js';

export class Authenticator {
  constructor(
    private readonly tokens: Pick<TokenStore, 'verify'>,
    private readonly jwt?: JwtVerifier,
  ) {}

  /** The principal for an Authorization header, or why there is none. */
  async authenticate(header: string | undefined): Promise<{ principal: Principal } | { reason: string }> {
    if (!header) return { reason: 'missing bearer token' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return { reason: 'Authorization must be "Bearer <token>"' };
    const credential = match[1];
    if (credential.startsWith(TOKEN_PREFIX)) {
      const principal = await this.tokens.verify(credential);
      return principal ? { principal } : { reason: 'unknown, expired or revoked API token' };
    }
    if (!this.jwt?.enabled) return { reason: 'not an API token, and no JWT issuer is configured' };
    try {
      return { principal: await this.jwt.verify(credential) };
    } catch (err) {
      if (err instanceof JwtRejected) return { reason: `JWT rejected: ${err.message}` };
      throw err;
    }
  }
}

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

const FHIR_ISSUE = { 401: 'login', 403: 'forbidden', 429: 'throttled' } as const;

/** FHIR clients get an OperationOutcome, everyone else the JSON error shape. */
function refuse(req: Request, res: Response, status: keyof typeof FHIR_ISSUE, detail: string): void {
  if (!/^\/fhir(?:[/?]|$)/.test(req.originalUrl)) return sendError(res, status, detail);
  if (res.headersSent) return;
  res.status(status).type('application/fhir+json').send(JSON.stringify(operationOutcome('error', FHIR_ISSUE[status], [detail])));
}

export const TOO_MANY_FAILURES = 'too many failed authentication attempts';

/**
 * Authentication for every authenticated mount (/api, /fhir, /metrics, /inbound, …): create it
 * once per engine and use the same handlers everywhere, so the failed-attempt count is one per
 * client address across mounts. The credential is checked first: a valid API token or JWT is
 * always let through, whatever its address did before; only failed attempts are counted, and
 * after `failureLimit` of them in the window the address gets 429 instead of 401.
 */
export function authGate(auth: Authenticator, settings: Pick<AuthSettings, 'failureLimit' | 'failureWindowMs'>): RequestHandler[] {
  const identify: RequestHandler = (req, res, next) => {
    auth.authenticate(req.get('authorization')).then((result) => {
      if ('principal' in result) res.locals.principal = result.principal;
      else res.locals.authFailure = result.reason;
      next();
    }, next);
  };
  const limitFailures = rateLimit({
    windowMs: settings.failureWindowMs,
    limit: settings.failureLimit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (_req, res) => principalOf(res) !== undefined,
    handler: (req, res) => {
      res.locals.authFailure = TOO_MANY_FAILURES;
      refuse(req, res, 429, `${TOO_MANY_FAILURES}; try again later`);
    },
  });
  const requireAuthenticated: RequestHandler = (req, res, next) => {
    if (principalOf(res)) return next();
    res.set('WWW-Authenticate', 'Bearer realm="tramline"');
    refuse(req, res, 401, 'authentication required: send Authorization: Bearer <API token or JWT>');
  };
  return [identify, limitFailures, requireAuthenticated];
}

/** 403 unless one of the caller's roles grants `permission`. */
export function requirePermission(permission: Permission): RequestHandler {
  return (req, res, next) => {
    const principal = principalOf(res);
    if (!principal) return refuse(req, res, 401, 'authentication required');
    if (allows(principal.roles, permission)) return next();
    res.locals.authFailure = `needs ${permission}`;
    refuse(req, res, 403, `your role does not allow this (needs ${permission})`);
  };
}
