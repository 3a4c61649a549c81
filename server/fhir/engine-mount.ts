// The sandbox FHIR store as the engine serves it at /fhir: behind the admin API's guards
// (request audit, failed-auth limit, API token or JWT, permission) — reads for the viewer
// role, writes for engineers and admins — plus a per-process token with which the engine's
// own FHIR destinations post to it (TRAMLINE_LPRES_URL unset) without a stored credential.
import crypto from 'node:crypto';
import type { Request, RequestHandler, Response, Router } from 'express';
import { setLocalSandbox } from '../../adapters/fhir/local-sandbox.js';
import type { AuditEntryInput } from '../audit/types.js';
import { recordView } from '../audit/views.js';
import { principalOf } from '../auth/middleware.js';
import type { Permission, Principal } from '../auth/roles.js';
import type { ContentKeyRing } from '../store/crypto.js';
import { createFhirRouter } from './router.js';
import { FhirStore } from './store.js';

/** Until roles.ts has FHIR permissions of its own: the viewer may read, engineers may write. */
export const FHIR_READ: Permission = 'viewer:read';
export const FHIR_WRITE: Permission = 'channels:manage';

export interface SandboxFhirParts {
  store: FhirStore;
  router: Router;
  /** Tell the engine's FHIR destinations where /fhir listens (call once the port is open). */
  announce(httpPort: number): void;
  /** Forget it again (engine stopping). */
  withdraw(): void;
}

const ENGINE: Principal = { kind: 'token', id: 'tramline-engine', roles: ['admin'] };

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** Run handlers in order, as express would for a route's middleware list. */
function chain(handlers: RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return next(err);
      const handler = handlers[i++];
      if (!handler) return next();
      void handler(req, res, step);
    };
    step();
  };
}

const NHS_NUMBER = 'https://fhir.nhs.uk/Id/nhs-number';

/** NHS numbers of the Patients among what a read returned. */
function patientsIn(resources: unknown[]): string[] {
  const found = new Set<string>();
  for (const r of resources as { resourceType?: string; identifier?: { system?: string; value?: string }[] }[]) {
    if (r?.resourceType !== 'Patient') continue;
    for (const id of r.identifier ?? []) if (id.system === NHS_NUMBER && id.value) found.add(id.value);
  }
  return [...found];
}

/**
 * Every person's record a person reads through /fhir is a record view in the audit trail
 * (who, role, organisation, NHS number, purpose of use, break-glass reason), written before
 * the data leaves. Purpose comes from `X-Purpose-Of-Use` (default `direct care`), a
 * break-glass rationale from `X-Break-Glass-Reason`. The engine's own reads are not views.
 */
function viewAuditor(audit: { append(entry: AuditEntryInput): Promise<unknown> }) {
  return async (req: Request, res: Response, resources: unknown[]) => {
    const principal = principalOf(res);
    if (!principal || principal === ENGINE) return;
    for (const patient of patientsIn(resources)) {
      await recordView(audit, {
        principal,
        patient,
        purpose: req.get('x-purpose-of-use') || 'direct care',
        breakGlass: req.get('x-break-glass-reason') || undefined,
        sourceIp: req.ip,
        section: `fhir:${String(req.params.type ?? '')}`,
      });
    }
  };
}

export function createSandboxFhirParts(o: {
  db: { readonly kysely: unknown };
  keys: ContentKeyRing;
  guards: (permission: Permission | null) => RequestHandler[];
  /** Where record views are written (absent: not audited, e.g. the standalone sandbox). */
  audit?: { append(entry: AuditEntryInput): Promise<unknown> };
}): SandboxFhirParts {
  const engineToken = crypto.randomBytes(32).toString('base64url');
  // The engine's own deliveries skip the per-request audit (the message lifecycle records
  // them); everyone else goes through the admin API's guards.
  const guarded = (permission: Permission): RequestHandler => {
    const outside = chain(o.guards(permission));
    return (req, res, next) => {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
      if (m && sameSecret(m[1], engineToken)) {
        res.locals.principal = ENGINE;
        return next();
      }
      outside(req, res, next);
    };
  };
  const store = new FhirStore(o.db, o.keys);
  const router = createFhirRouter(store, { readGuards: [guarded(FHIR_READ)], writeGuards: [guarded(FHIR_WRITE)], ...(o.audit ? { onRead: viewAuditor(o.audit) } : {}) });
  return {
    store,
    router,
    announce(httpPort) {
      setLocalSandbox({ baseUrl: `http://127.0.0.1:${httpPort}/fhir`, token: engineToken });
    },
    withdraw() {
      setLocalSandbox(undefined);
    },
  };
}
