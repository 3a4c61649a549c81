// GET / — the dashboard; GET /live/dashboard — its live updates (Server-Sent Events).
import express, { type Router } from 'express';
import { consoleEntry, locals, page } from '../access.js';
import { gatherDashboard } from '../dashboard-data.js';
import type { HealthChecks } from '../health.js';
import type { LiveDashboard } from '../live.js';
import { pageContext, takeFlash, type PageDeps } from './context.js';

export function dashboardRouter(deps: PageDeps & { health: HealthChecks; live: LiveDashboard }): Router {
  const router = express.Router();
  router.get('/', page('GET /', 'channels:read', deps.refusals), async (req, res) => {
    const dashboard = await gatherDashboard(deps.engine, deps.health);
    deps.renderer.page(res, pageContext(deps, req, res), 'dashboard.njk', { title: 'Dashboard', dashboard, flash: takeFlash(res) });
  });
  router.get('/live/dashboard', page('GET /live/dashboard', 'channels:read', deps.refusals), (req, res) => {
    // Audited when the stream opens (it may stay open for hours).
    const l = locals(res);
    deps.live.watch(req, res, l.session!.id);
    l.audited = false;
    void deps.audit.record(consoleEntry(req, res));
  });
  return router;
}

/** The dashboard's live fragment. */
export async function renderDashboardFragment(deps: PageDeps & { health: HealthChecks }): Promise<string> {
  const dashboard = await gatherDashboard(deps.engine, deps.health);
  return deps.renderer.fragment('partials/dashboard-body.njk', { dashboard });
}
