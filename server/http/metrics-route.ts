// GET /metrics: Prometheus text format for callers with metrics:read (a scrape token). Failed
// attempts are audited; successful scrapes are not (one every few seconds would drown the trail).
import type { RequestHandler } from 'express';
import { authFailureLimiter, requireAuthentication, requirePermission, type Authenticator } from '../auth/middleware.js';
import type { AuthSettings } from '../auth/settings.js';
import type { EngineMetrics } from '../metrics.js';
import { auditRequests, type AuditSink } from './request-audit.js';

export function metricsHandlers(o: { metrics: EngineMetrics; authenticator: Authenticator; audit: AuditSink; authSettings: Pick<AuthSettings, 'failureLimit' | 'failureWindowMs'> }): RequestHandler[] {
  return [
    auditRequests(o.audit, { onlyFailures: true }),
    authFailureLimiter(o.authSettings),
    requireAuthentication(o.authenticator),
    requirePermission('metrics:read'),
    async (_req, res) => {
      res.set('Content-Type', o.metrics.registry.contentType);
      res.end(await o.metrics.metrics());
    },
  ];
}
