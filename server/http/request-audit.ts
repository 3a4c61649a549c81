// Every API request leaves one audit entry when its response is finished: who (principal or
// nobody), from where, what (route), on what (path), about whom (patient, when a handler names
// one) and the outcome — 401 and 403 included.
import type { Request, RequestHandler, Response } from 'express';
import type { AuditEntryInput, AuditOutcome } from '../audit/types.js';
import type { Principal } from '../auth/roles.js';

export interface AuditSink {
  record(entry: AuditEntryInput): Promise<void>;
}

/** Handlers add these to res.locals to enrich the entry. */
export interface AuditNotes {
  auditAction?: string;
  auditPatient?: string;
  auditPurpose?: string;
  auditBreakGlass?: string;
  auditMessageId?: string;
  auditDetail?: Record<string, unknown>;
}

export function outcomeOf(status: number): AuditOutcome {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'denied';
  if (status >= 400) return 'failure';
  return 'success';
}

function actorOf(p: Principal | undefined): AuditEntryInput['actor'] {
  if (!p) return undefined;
  return { id: p.id, kind: p.kind, role: p.roles.join(',') || undefined, organisation: p.organisation };
}

function entryFor(req: Request, res: Response, category: AuditEntryInput['category']): AuditEntryInput {
  const notes = res.locals as AuditNotes & { principal?: Principal; authFailure?: string };
  // req.baseUrl/req.path are rewound once routing has left a router; originalUrl is not.
  const path = req.originalUrl.split('?')[0];
  const action = notes.auditAction ?? `${req.method} ${path}`;
  return {
    // Refused credentials (401) and refused guessing (429) are auth events.
    category: res.statusCode === 401 || res.statusCode === 429 ? 'auth' : category,
    action,
    outcome: outcomeOf(res.statusCode),
    actor: actorOf(notes.principal),
    sourceIp: req.ip ?? req.socket.remoteAddress,
    target: path,
    messageId: notes.auditMessageId,
    patient: notes.auditPatient,
    purpose: notes.auditPurpose,
    breakGlass: notes.auditBreakGlass,
    detail: { status: res.statusCode, ...(notes.authFailure ? { reason: notes.authFailure } : {}), ...notes.auditDetail },
  };
}

/** `onlyFailures`: skip successful requests (e.g. Prometheus scrapes every few seconds). */
export function auditRequests(audit: AuditSink, options: { category?: AuditEntryInput['category']; onlyFailures?: boolean } = {}): RequestHandler {
  return (req, res, next) => {
    let recorded = false;
    const record = (aborted: boolean) => {
      if (recorded) return;
      recorded = true;
      if (!aborted && options.onlyFailures && res.statusCode < 400) return;
      const entry = entryFor(req, res, options.category ?? 'api');
      // A client that hung up before the answer was sent: still recorded, as a failure.
      void audit.record(aborted ? { ...entry, outcome: 'failure', detail: { ...entry.detail, aborted: true } } : entry);
    };
    res.on('finish', () => record(false));
    res.on('close', () => record(!res.writableFinished));
    next();
  };
}
