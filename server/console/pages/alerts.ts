// GET /alerts — the alert rules (alerts.yaml beside the channels, or the built-in ones) and
// each one's state: firing since when, last fired, last notified, where notifications go.
import express, { type Router } from 'express';
import type { AlertsReader } from '../../alerts/evaluator.js';
import { page } from '../access.js';
import { CONSOLE_PAGES } from './table.js';
import { pageContext, type PageDeps } from './context.js';

const ORDER = { firing: 0, pending: 1, ok: 2 } as const;

export function alertsRouter(deps: PageDeps & { alerts?: AlertsReader }): Router {
  const router = express.Router();
  router.get(CONSOLE_PAGES.alerts.path, page(CONSOLE_PAGES.alerts, deps.refusals), (req, res) => {
    const views = [...(deps.alerts?.views() ?? [])].sort((a, b) => ORDER[a.state.status] - ORDER[b.state.status] || a.rule.name.localeCompare(b.rule.name));
    deps.renderer.page(res, pageContext(deps, req, res), 'alerts.njk', { title: 'Alerts', views, summary: deps.alerts?.summary() });
  });
  return router;
}
