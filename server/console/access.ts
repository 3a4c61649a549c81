// Who is at the console, and may they see this page. The session cookie is read on every
// console request; a page asks for one permission from server/auth/roles.ts, exactly as the
// API's routes do. Not signed in: a redirect to the sign-in page (audited as unauthenticated).
// Signed in without the permission: a 403 page (audited as denied). Every console request
// leaves one audit entry when its response is finished.
import type { Request, RequestHandler, Response } from 'express';
import { allows, type Principal } from '../auth/roles.js';
import type { AuditEntryInput, AuditOutcome } from '../audit/types.js';
import { outcomeOf, type AuditSink } from '../http/request-audit.js';
import type { ConsolePage } from './pages/table.js';
import type { ConsoleSession, SessionStore } from './sessions.js';

export interface CookieSettings {
  name: string;
  secure: boolean;
}

/** `__Host-` (Secure, Path=/, no Domain) where the console is served over https. */
export function cookieSettings(publicUrl: string): CookieSettings {
  const secure = publicUrl.startsWith('https:');
  return { name: secure ? '__Host-tramline-session' : 'tramline-session', secure };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function setSessionCookie(req: Request, res: Response, cookie: CookieSettings, session: ConsoleSession): void {
  res.cookie(cookie.name, session.id, { httpOnly: true, sameSite: 'lax', secure: cookie.secure || req.secure, path: '/' });
}

export function clearSessionCookie(req: Request, res: Response, cookie: CookieSettings): void {
  res.clearCookie(cookie.name, { httpOnly: true, sameSite: 'lax', secure: cookie.secure || req.secure, path: '/' });
}

/** What console handlers leave in res.locals. */
export interface ConsoleLocals {
  session?: ConsoleSession;
  /** The session this request's cookie named ended by timeout just now. */
  expiredSession?: ConsoleSession;
  principal?: Principal;
  authFailure?: string;
  auditAction?: string;
  auditCategory?: AuditEntryInput['category'];
  auditOutcome?: AuditOutcome;
  auditPatient?: string;
  auditMessageId?: string;
  auditDetail?: Record<string, unknown>;
  /** False: this request writes its own entry (or none). */
  audited?: boolean;
}

export const locals = (res: Response) => res.locals as ConsoleLocals;

/** Reads the session cookie: the live session (its idle time refreshed), or that it just expired. */
export function readSession(sessions: SessionStore, cookie: CookieSettings): RequestHandler {
  return (req, res, next) => {
    const found = sessions.lookup(cookieValue(req.get('cookie'), cookie.name));
    const l = locals(res);
    if (found && 'session' in found) {
      l.session = found.session;
      if (found.session.principal) l.principal = found.session.principal;
    } else if (found) {
      l.expiredSession = found.expired;
    }
    next();
  };
}

function actorOf(p: Principal | undefined): AuditEntryInput['actor'] {
  return p ? { id: p.id, kind: p.kind, role: p.roles.join(',') || undefined, organisation: p.organisation } : undefined;
}

/** The audit entry for a console request as it stands (status, who, what). */
export function consoleEntry(req: Request, res: Response, aborted = false): AuditEntryInput {
  const l = locals(res);
  const path = req.originalUrl.split('?')[0];
  const outcome = aborted ? 'failure' : (l.auditOutcome ?? outcomeOf(res.statusCode));
  return {
    category: l.auditCategory ?? (outcome === 'unauthenticated' ? 'auth' : 'api'),
    action: l.auditAction ?? `console ${req.method} ${path}`,
    outcome,
    actor: actorOf(l.principal),
    sourceIp: req.ip ?? req.socket.remoteAddress,
    target: path,
    messageId: l.auditMessageId,
    patient: l.auditPatient,
    detail: { status: res.statusCode, ...(l.authFailure ? { reason: l.authFailure } : {}), ...(aborted ? { aborted: true } : {}), ...l.auditDetail },
  };
}

/** One audit entry per console request, when its response is finished (or the client hung up). */
export function auditConsole(sink: AuditSink): RequestHandler {
  return (req, res, next) => {
    let recorded = false;
    const record = (aborted: boolean) => {
      if (recorded || locals(res).audited === false) return;
      recorded = true;
      const entry = consoleEntry(req, res, aborted);
      // Nobody signed in looking at a sign-in page is no more news than a health probe, and
      // recording it would let anyone grow the trail at will. Sign-ins themselves, and every
      // refusal (counted per client), are recorded.
      if (!entry.actor && entry.outcome === 'success' && /^\/(?:sign-in|signed-out)(?:\/|$)/.test(entry.target ?? '')) return;
      void sink.record(entry);
    };
    res.on('finish', () => record(false));
    res.on('close', () => record(!res.writableFinished));
    next();
  };
}

/** Only a path on this site may be returned to after sign-in (never `//other.example`). */
export function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s\\]*$/.test(value) && value.length <= 500 ? value : '/';
}

export interface Refusals {
  /** Renders the 403 page. */
  forbidden(req: Request, res: Response, detail: string): void;
}

/**
 * Guard for a page (pages/table.ts): signed in (else redirect to sign-in, back here afterwards)
 * and allowed its permission (else 403). Its method and path name it in the audit trail.
 */
export function page(which: ConsolePage, refusals: Refusals): RequestHandler {
  const { permission } = which;
  return (req, res, next) => {
    const l = locals(res);
    l.auditAction = `console ${which.method} ${which.path}`;
    if (!l.principal) {
      l.authFailure = l.expiredSession ? 'session expired' : 'not signed in';
      l.auditOutcome = 'unauthenticated';
      const params = new URLSearchParams({ returnTo: req.method === 'GET' ? req.originalUrl : '/' });
      if (l.expiredSession) params.set('expired', '1');
      return res.redirect(303, `/sign-in?${params}`);
    }
    if (allows(l.principal.roles, permission)) return next();
    l.authFailure = `needs ${permission}`;
    refusals.forbidden(req, res, permission);
  };
}
