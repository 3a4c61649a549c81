// The sandbox FHIR store as the engine serves it at /fhir: behind the admin API's guards
// (request audit, failed-auth limit, API token or JWT, permission) — reads for the viewer
// role, writes for engineers and admins — plus a per-process token with which the engine's
// own FHIR destinations post to it (TRAMLINE_LPRES_URL unset) without a stored credential.
import crypto from 'node:crypto';
import type { RequestHandler, Router } from 'express';
import { setLocalSandbox } from '../../adapters/fhir/local-sandbox.js';
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

export function createSandboxFhirParts(o: { db: { readonly kysely: unknown }; keys: ContentKeyRing; guards: (permission: Permission | null) => RequestHandler[] }): SandboxFhirParts {
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
  const router = createFhirRouter(store, { readGuards: [guarded(FHIR_READ)], writeGuards: [guarded(FHIR_WRITE)] });
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
