// Mounts the admin API: security headers, body limits, failed-auth rate limit, authentication,
// per-route permission, request audit, JSON errors.
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { requirePermission, principalOf } from '../auth/middleware.js';
import { jsonErrorHandler, sendError } from '../http/errors.js';
import { auditRequests, type AuditSink } from '../http/request-audit.js';
import { noStore, urlHasNul, verifyJsonDepth } from '../../adapters/http/request-checks.js';
import { openApiDocument } from './openapi.js';
import type { ApiRoute, ApiServices, Reply } from './route.js';
import { auditRoutes } from './routes/audit.js';
import { channelRoutes } from './routes/channels.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { mappingRoutes } from './routes/mappings.js';
import { messageRoutes } from './routes/messages.js';
import { metaRoutes } from './routes/meta.js';
import { noticeRoutes } from './routes/notices.js';
import { tokenRoutes } from './routes/tokens.js';

export const BODY_LIMIT = '1mb';

/** Every admin API route, in mount order (fixed paths before parameterised ones). */
export function apiRoutes(): ApiRoute[] {
  const routes: ApiRoute[] = [...channelRoutes, ...messageRoutes, ...deadLetterRoutes, ...mappingRoutes, ...noticeRoutes, ...auditRoutes, ...tokenRoutes];
  let document: Record<string, unknown> | undefined;
  const all: ApiRoute[] = [...routes, ...metaRoutes(() => (document ??= openApiDocument(all)))];
  return all;
}

function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && 'status' in value && 'body' in value && Object.keys(value).every((k) => ['status', 'body', 'contentType'].includes(k));
}

export interface ApiRouterOptions {
  services: ApiServices;
  /** The engine's one `authGate` (shared by every mount, so the failure limit is per address). */
  authenticate: RequestHandler[];
  audit: AuditSink;
}

export function createApiRouter(o: ApiRouterOptions): Router {
  const router = express.Router();
  router.use(noStore);
  router.use(auditRequests(o.audit));
  // After the audit, so the refused request is still recorded; before anything queries with it.
  router.use((req, res, next) => (urlHasNul(req.originalUrl) ? sendError(res, 400, 'NUL characters are not allowed in the path or query') : next()));
  // Bodies are read only from authenticated callers.
  router.use(...o.authenticate);
  router.use(express.json({ limit: BODY_LIMIT, verify: verifyJsonDepth }));
  router.use(express.text({ limit: BODY_LIMIT, type: ['text/plain', 'application/yaml', 'text/yaml', 'application/hl7-v2', 'x-application/hl7-v2+er7'] }));

  for (const route of apiRoutes()) {
    const handler = async (req: Request, res: Response) => {
      res.locals.auditAction = `${route.method.toUpperCase()} /api${route.path}`;
      const ctx = { ...o.services, principal: principalOf(res)! };
      const result = await route.handle(ctx, req, res);
      if (res.headersSent) return;
      if (isReply(result)) {
        if (result.contentType) res.type(result.contentType);
        res.status(result.status).json(result.body);
      } else {
        res.json(result);
      }
    };
    const guards = route.permission ? [requirePermission(route.permission)] : [];
    router[route.method](route.path, (_req, res, next) => {
      res.locals.auditAction = `${route.method.toUpperCase()} /api${route.path}`;
      next();
    }, ...guards, handler);
  }
  router.use((req, res) => sendError(res, 404, `no API route ${req.method} ${req.path}`));
  router.use(jsonErrorHandler);
  return router;
}
