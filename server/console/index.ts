// The integration engineers' web console, served by the engine at `/`: GOV.UK Frontend pages
// rendered on the server, people signed in with a session cookie (OpenID Connect, or the local
// development sign-in), each page gated by the same permissions as the API, every request audited.
// Mount it after every other router: it answers its own paths, a browser's unknown path with a
// GOV.UK "page not found", and leaves the rest to the engine's JSON 404.
//
// Adding a page: an entry in pages/table.ts (method, path, permission), a router in pages/ whose
// handlers start with `page(CONSOLE_PAGES.x, …)`, a template in views/ extending layout.njk, a
// row in docs/security.md's role × page table (a test holds the two together), a NAVIGATION item
// in render.ts if it belongs in the menu, and an axe check in test/integration/console-browser.test.ts.
import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import { log } from '../../core/logger.js';
import type { EngineFacade } from '../api/facade.js';
import type { AuditTrail } from '../audit/trail.js';
import type { AuthSettings } from '../auth/settings.js';
import type { AuditSink } from '../http/request-audit.js';
import { allows } from '../auth/roles.js';
import { auditConsole, cookieSettings, locals, readSession, type Refusals } from './access.js';
import type { AlertsReader } from '../alerts/evaluator.js';
import { assetsRouter } from './assets.js';
import { HealthChecks, type HealthSources } from './health.js';
import { LiveDashboard } from './live.js';
import { alertsRouter } from './pages/alerts.js';
import { auditRouter } from './pages/audit.js';
import { channelRouter } from './pages/channel.js';
import { channelControlRouter } from './pages/channel-control.js';
import { pageContext, type PageDeps } from './pages/context.js';
import { dashboardRouter, renderDashboardFragment } from './pages/dashboard.js';
import { deadLettersRouter } from './pages/dead-letters.js';
import { messagesRouter } from './pages/messages.js';
import { noticesRouter } from './pages/notices.js';
import { playgroundRouter } from './pages/playground.js';
import { CONSOLE_PAGES } from './pages/table.js';
import { tokensRouter, type ConsoleTokens } from './pages/tokens.js';
import { Renderer } from './render.js';
import { SessionStore } from './sessions.js';
import { loadConsoleSettings, type ConsoleSettings } from './settings.js';
import { signInRouter } from './sign-in/routes.js';
import { viewerAssetsRouter, viewerRouter } from '../viewer/index.js';
import type { ViewerData } from '../viewer/model.js';
import { VIEWER_PAGES } from '../viewer/pages/table.js';

export interface ConsoleOptions {
  engine: EngineFacade;
  /** The audit trail (sign-ins, sign-outs; the audit pages read and check it). */
  trail: Pick<AuditTrail, 'record' | 'append' | 'query' | 'verify'>;
  /** The request audit: repeated denials of one client become one entry with a count. */
  requestAudit: AuditSink;
  authSettings: AuthSettings;
  queue: HealthSources['queue'];
  env: NodeJS.ProcessEnv;
  /** TRAMLINE_PUBLIC_URL, or http://localhost:<port>. */
  publicUrl: string;
  /** API tokens (the admins' token pages). */
  tokens: ConsoleTokens;
  /** How often open dashboards get fresh figures (default 3 s). */
  liveIntervalMs?: number;
  /** The alert rules and their states (server/alerts/). */
  alerts?: AlertsReader;
  /** The shared care record the clinicians' viewer at /viewer reads (server/viewer/). */
  viewerData?: ViewerData;
}

export interface Console {
  router: Router;
  settings: ConsoleSettings;
  close(): void;
}

export function createConsole(o: ConsoleOptions): Console {
  const settings = loadConsoleSettings(o.env, o.authSettings, o.publicUrl);
  const sessions = new SessionStore({ idleMs: settings.idleMs, absoluteMs: settings.absoluteMs });
  const cookie = cookieSettings(settings.publicUrl);
  const https = cookie.secure;
  const renderer = new Renderer();
  const refusals: Refusals = {
    forbidden: (req, res, needs) => {
      const principal = locals(res).principal;
      const csrf = locals(res).authFailure?.startsWith('CSRF');
      renderer.page(res, pageContext({ https }, req, res), 'error.njk', {
        title: csrf ? 'The form had expired' : 'You do not have access to this page',
        paragraphs: csrf
          ? ['Nothing was done. Go back, reload the page and try again.']
          : [`Your role (${principal?.roles.join(', ') || 'none'}) does not allow this page (it needs ${needs}).`, 'Ask your administrator if you need access.'],
        // Clinicians have no console page, but the viewer.
        viewerLink: !csrf && principal !== undefined && allows(principal.roles, 'viewer:read'),
      }, 403);
    },
  };
  const deps: PageDeps = { engine: o.engine, renderer, refusals, https, audit: o.requestAudit };
  const health = new HealthChecks({ engine: o.engine, queue: o.queue, lpresUrl: o.env.TRAMLINE_LPRES_URL || undefined });
  const live = new LiveDashboard({ render: () => renderDashboardFragment({ ...deps, health, alerts: o.alerts }), isLive: (id) => sessions.isLive(id), intervalMs: o.liveIntervalMs ?? 3000 });

  const router = express.Router();
  router.use('/assets', assetsRouter());
  router.use('/viewer/assets', viewerAssetsRouter());
  const pages = express.Router();
  pages.use(readSession(sessions, cookie), auditConsole(o.requestAudit));
  pages.use(signInRouter({ sessions, cookie, trail: o.trail, renderer, settings, https }));
  pages.use(dashboardRouter({ ...deps, health, live, alerts: o.alerts }));
  pages.use(messagesRouter(deps));
  pages.use(channelRouter(deps));
  pages.use(auditRouter({ ...deps, trail: o.trail }));
  pages.use(playgroundRouter(deps));
  pages.use(deadLettersRouter(deps));
  pages.use(tokensRouter({ ...deps, tokens: o.tokens }));
  pages.use(channelControlRouter(deps));
  pages.use(alertsRouter({ ...deps, alerts: o.alerts }));
  pages.use(noticesRouter(deps));
  // The clinicians' viewer: its own NHS.UK pages, on the same sessions and request audit.
  pages.use(viewerRouter({ data: o.viewerData, trail: o.trail, https, env: o.env, devSignIn: settings.devSignIn, formActions: renderer.formActionOrigins }));
  const failed: ErrorRequestHandler = (err: unknown, req: Request, res: Response, next) => {
    if (res.headersSent) return next(err);
    const errorId = randomUUID();
    log.error({ errorId, method: req.method, path: req.path, reason: (err as Error)?.name ?? 'error' }, 'console page failed');
    renderer.page(res, pageContext(deps, req, res), 'error.njk', { title: 'Sorry, there is a problem with the service', paragraphs: ['Try again later.'], errorId }, 500);
  };
  pages.use(failed);
  // Only paths the console knows (by their first segment) get a session and an audit entry;
  // everything else (/api, /fhir, …, mounted before) passes by.
  const segments = new Set([...[...Object.values(CONSOLE_PAGES), ...Object.values(VIEWER_PAGES)].map((p) => p.path.split('/')[1]), 'sign-in', 'sign-out', 'signed-out']);
  router.use((req, res, next) => (segments.has(req.path.split('/')[1]) ? pages(req, res, next) : next()));
  // A browser asking for a page nobody serves gets a page; API clients keep the JSON 404.
  router.get(/.*/, (req, res, next) => {
    if (req.accepts(['json', 'html']) !== 'html' || /^\/(api|fhir|inbound|metrics)(\/|$)/.test(req.path)) return next();
    renderer.page(res, { path: req.path, https }, 'error.njk', { title: 'Page not found', paragraphs: ['If you typed the web address, check it is correct.'] }, 404);
  });
  return {
    router,
    settings,
    close: () => {
      live.close();
      sessions.close();
    },
  };
}
