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
import type { ContentKeyRing } from '../../adapters/store/crypto.js';
import type { DialectName } from '../../adapters/store/db.js';
import { patientIdsOf } from './persons.js';
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

type PatientJson = { resourceType?: string; id?: string; identifier?: { system?: string; value?: string }[] };

function nhsNumberOf(patient: PatientJson | undefined): string | undefined {
  return patient?.identifier?.find((i) => i.system === NHS_NUMBER && i.value)?.value;
}

/**
 * The people a read returned anything about, as the audit trail names them: the NHS number, or
 * `Patient/<id>` for a person without one (or whose Patient is gone). Patients not in the
 * response are looked up, so an EpisodeOfCare alone is still a view of its person.
 */
async function peopleIn(store: FhirStore, resources: unknown[]): Promise<string[]> {
  const ids = new Set(resources.flatMap(patientIdsOf));
  if (!ids.size) return [];
  const known = new Map<string, PatientJson>();
  for (const r of resources as PatientJson[]) if (r?.resourceType === 'Patient' && r.id) known.set(r.id, r);
  const missing = [...ids].filter((id) => !known.has(id));
  for (const v of await store.currentMany('Patient', missing)) known.set(v.id, v.resource as PatientJson);
  return [...new Set([...ids].map((id) => nhsNumberOf(known.get(id)) ?? `Patient/${id}`))];
}

/**
 * Every person's record a person reads through /fhir is a record view in the audit trail
 * (who, role, organisation, NHS number, purpose of use, break-glass reason), written before
 * the data leaves — whatever the resource type. Purpose comes from `X-Purpose-Of-Use`
 * (default `direct care`), a break-glass rationale from `X-Break-Glass-Reason`. The engine's
 * own reads are not views.
 */
function viewAuditor(audit: { append(entry: AuditEntryInput): Promise<unknown> }, store: FhirStore) {
  return async (req: Request, res: Response, resources: unknown[]) => {
    const principal = principalOf(res);
    if (!principal || principal === ENGINE) return;
    for (const patient of await peopleIn(store, resources)) {
      await recordView(audit, {
        principal,
        patient,
        purpose: req.get('x-purpose-of-use') || 'direct care',
        breakGlass: req.get('x-break-glass-reason') || undefined,
        sourceIp: req.ip,
        section: `fhir:${String(req.params.type ?? '_history')}`,
      });
    }
  };
}

export function createSandboxFhirParts(o: {
  /** The store's opened database (its dialect lets FHIR writes share the SQLite writer). */
  db: { readonly kysely: unknown; readonly dialect?: DialectName };
  keys: ContentKeyRing;
  guards: (permission: Permission | null) => RequestHandler[];
  /** Where record views are written (absent: not audited, e.g. the standalone sandbox). */
  audit?: { append(entry: AuditEntryInput): Promise<unknown> };
  /** TRAMLINE_PUBLIC_URL: the engine's address as clients reach it (default http://localhost:<port>). */
  publicUrl?: string;
}): SandboxFhirParts {
  let publicBase = '';
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
  const router = createFhirRouter(store, {
    publicBase: () => publicBase,
    readGuards: [guarded(FHIR_READ)],
    writeGuards: [guarded(FHIR_WRITE)],
    ...(o.audit ? { onRead: viewAuditor(o.audit, store) } : {}),
  });
  return {
    store,
    router,
    announce(httpPort) {
      publicBase = `${o.publicUrl ?? `http://localhost:${httpPort}`}/fhir`;
      setLocalSandbox({ baseUrl: `http://127.0.0.1:${httpPort}/fhir`, token: engineToken });
    },
    withdraw() {
      setLocalSandbox(undefined);
    },
  };
}
