// The engine's HTTP face. Health endpoints are open (load balancers and orchestrators probe
// them); everything else — /api, /metrics — is behind authentication. Security headers on
// every response; errors are JSON without stack traces.
import express, { type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import { jsonErrorHandler, sendError } from './errors.js';

export interface HealthSource {
  /** Null when ready, otherwise why not (e.g. "queue disconnected"). */
  notReadyReason(): string | null;
}

export interface AppParts {
  /** The admin API router (server/api/router.ts), mounted at /api. */
  api?: Router;
  /** Guards (authentication, permission, audit) then the metrics handler, mounted at /metrics. */
  metrics?: RequestHandler[];
  /** More routers (e.g. `/inbound`, `/fhir`, `/viewer`), mounted before the JSON 404. */
  mounts?: { path: string; router: Router }[];
  /**
   * Express `trust proxy` (TRAMLINE_TRUST_PROXY): set it behind a reverse proxy so audit entries
   * and the failed-auth limit see the client's address, not the proxy's.
   */
  trustProxy?: boolean | number | string;
}

export function createApp(health: HealthSource, parts: AppParts = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  if (parts.trustProxy !== undefined) app.set('trust proxy', parts.trustProxy);
  app.use(helmet());
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const reason = health.notReadyReason();
    if (reason) res.status(503).json({ status: 'not ready', reason });
    else res.json({ status: 'ready' });
  });
  if (parts.metrics) app.get('/metrics', ...parts.metrics);
  if (parts.api) app.use('/api', parts.api);
  for (const m of parts.mounts ?? []) app.use(m.path, m.router);
  app.use((_req, res) => sendError(res, 404, 'not found'));
  app.use(jsonErrorHandler);
  return app;
}
