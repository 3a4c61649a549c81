// GET / — the dashboard; GET /live/dashboard — its live updates (Server-Sent Events).
import express, { type Router } from 'express';
import type { AlertsReader } from '../../alerts/evaluator.js';
import { allows } from '../../auth/roles.js';
import { consoleEntry, locals, page } from '../access.js';
import { gatherDashboard } from '../dashboard-data.js';
import type { HealthChecks } from '../health.js';
import type { LiveDashboard } from '../live.js';
import { CONSOLE_PAGES } from './table.js';
import { pageContext, takeFlash, type PageDeps } from './context.js';

/** Hospital notices awaiting an answer and how many are overdue; none when no channel takes notices. */
async function noticeCounts(engine: PageDeps['engine']) {
  if (!engine.notices || !engine.channels().some((c) => engine.definition(c.id)?.notices)) return undefined;
  return engine.notices.countAwaiting();
}

export function dashboardRouter(deps: PageDeps & { health: HealthChecks; live: LiveDashboard; alerts?: AlertsReader }): Router {
  const router = express.Router();
  router.get(CONSOLE_PAGES.dashboard.path, page(CONSOLE_PAGES.dashboard, deps.refusals), async (req, res) => {
    const dashboard = await gatherDashboard(deps.engine, deps.health);
    const notices = allows(locals(res).principal!.roles, 'notices:read') ? await noticeCounts(deps.engine) : undefined;
    deps.renderer.page(res, pageContext(deps, req, res), 'dashboard.njk', { title: 'Dashboard', dashboard, notices, alerts: deps.alerts?.summary(), flash: takeFlash(res) });
  });
  router.get(CONSOLE_PAGES.liveDashboard.path, page(CONSOLE_PAGES.liveDashboard, deps.refusals), (req, res) => {
    // Audited when the stream opens (it may stay open for hours).
    const l = locals(res);
    deps.live.watch(res, l.session!.id);
    l.audited = false;
    void deps.audit.record(consoleEntry(req, res));
  });
  return router;
}

/** The dashboard's live fragment. */
export async function renderDashboardFragment(deps: PageDeps & { health: HealthChecks; alerts?: AlertsReader }): Promise<string> {
  const dashboard = await gatherDashboard(deps.engine, deps.health);
  return deps.renderer.fragment('partials/dashboard-body.njk', { dashboard, alerts: deps.alerts?.summary() });
}
