// GET /metrics: Prometheus text format for callers with metrics:read (a scrape token). Failed
// attempts are audited; successful scrapes are not (one every few seconds would drown the trail).
import type { RequestHandler } from 'express';
import { requirePermission } from '../auth/middleware.js';
import type { EngineMetrics } from '../metrics.js';
import { auditRequests, type AuditSink } from './request-audit.js';

/** `authenticate`: the engine's one `authGate`. */
export function metricsHandlers(o: { metrics: EngineMetrics; authenticate: RequestHandler[]; audit: AuditSink }): RequestHandler[] {
  return [
    auditRequests(o.audit, { onlyFailures: true }),
    ...o.authenticate,
    requirePermission('metrics:read'),
    async (_req, res) => {
      res.set('Content-Type', o.metrics.registry.contentType);
      res.end(await o.metrics.metrics());
    },
  ];
}
