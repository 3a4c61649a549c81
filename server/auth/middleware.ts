// Express middleware: who is calling (401 when nobody we trust) and may they (403). Both
// answers are JSON and both are audited by the request audit (server/http/request-audit.ts),
// which reads the principal left in res.locals.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
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

/** 401 unless the request carries a valid API token or JWT; sets res.locals.principal. */
export function requireAuthentication(auth: Authenticator): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    auth.authenticate(req.get('authorization')).then((result) => {
      if ('principal' in result) {
        res.locals.principal = result.principal;
        return next();
      }
      res.locals.authFailure = result.reason;
      res.set('WWW-Authenticate', 'Bearer realm="tramline"');
      sendError(res, 401, 'authentication required: send Authorization: Bearer <API token or JWT>');
    }, next);
  };
}

/** 403 unless one of the caller's roles grants `permission`. */
export function requirePermission(permission: Permission): RequestHandler {
  return (_req, res, next) => {
    const principal = principalOf(res);
    if (!principal) return sendError(res, 401, 'authentication required');
    if (allows(principal.roles, permission)) return next();
    res.locals.authFailure = `needs ${permission}`;
    sendError(res, 403, `your role does not allow this (needs ${permission})`);
  };
}

/**
 * Slows down guessing: after `failureLimit` failed authentications from one address in the
 * window, that address gets 429 until the window passes. Successful requests do not count.
 */
export function authFailureLimiter(settings: Pick<AuthSettings, 'failureLimit' | 'failureWindowMs'>): RequestHandler {
  return rateLimit({
    windowMs: settings.failureWindowMs,
    limit: settings.failureLimit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    handler: (_req, res) => sendError(res, 429, 'too many failed authentication attempts; try again later'),
  });
}
