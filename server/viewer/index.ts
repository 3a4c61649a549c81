// The clinicians' shared care viewer at /viewer: NHS.UK frontend pages rendered on the server,
// working without JavaScript. It lives inside the web console's session handling
// (server/console/index.ts mounts it): the same sign-in and session cookie, the same
// per-request audit and CSRF token, each page gated by `viewer:read` (pages/table.ts). A
// clinician finds a person (pages/find.ts), says why they need the record (pages/purpose.ts)
// and reads it (pages/record.ts); the data comes through the ViewerData contract (model.ts).
import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Router } from 'express';
import { log } from '../../core/logger.js';
import type { AuditWriter } from '../audit/trail.js';
import { locals, type Refusals } from '../console/access.js';
import { viewerAssetsRouter } from './assets.js';
import type { ViewerData } from './model.js';
import { viewerContext, type ViewerDeps } from './pages/context.js';
import { findRouter } from './pages/find.js';
import { purposeRouter } from './pages/purpose.js';
import { recordRouter } from './pages/record.js';
import { ViewerRenderer } from './render.js';

export interface ViewerOptions {
  data?: ViewerData;
  trail: AuditWriter;
  https: boolean;
  /** TRAMLINE_VIEWER_TIMEOUT_SECONDS (default 15). */
  env: NodeJS.ProcessEnv;
  /** The development sign-in is on: every page says so. */
  devSignIn?: boolean;
  /** Origins forms may lead to besides this one (the console renderer's formActionOrigins). */
  formActions?: ReadonlySet<string>;
}

export { viewerAssetsRouter };

/** The viewer's pages (mount where the console's session and audit middleware run). */
export function viewerRouter(o: ViewerOptions): Router {
  const renderer = new ViewerRenderer({ devSignIn: o.devSignIn, formActions: o.formActions });
  const seconds = Number(o.env.TRAMLINE_VIEWER_TIMEOUT_SECONDS || 15);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('TRAMLINE_VIEWER_TIMEOUT_SECONDS must be a positive number');
  const refusals: Refusals = {
    forbidden: (req, res, needs) => {
      const principal = locals(res).principal;
      const csrf = locals(res).authFailure?.startsWith('CSRF');
      renderer.page(res, viewerContext({ https: o.https }, res), 'error.njk', {
        title: csrf ? 'The form had expired' : 'You do not have access to the shared care record',
        paragraphs: csrf
          ? ['Nothing was done. Go back, reload the page and try again.']
          : [`The shared care record is for people involved in health and social care. Your role (${principal?.roles.join(', ') || 'none'}) does not include it (it needs ${needs}).`, 'If you think you should have access, ask your administrator.'],
      }, 403);
    },
  };
  const deps: ViewerDeps = { data: o.data, trail: o.trail, renderer, refusals, https: o.https, timeoutMs: seconds * 1000 };
  const router = express.Router();
  router.use(findRouter(deps));
  router.use(purposeRouter(deps));
  router.use(recordRouter(deps));
  router.use('/viewer', (req, res) => {
    renderer.page(res, viewerContext(deps, res), 'error.njk', { title: 'Page not found', paragraphs: ['If you typed the web address, check it is correct.'], findAgain: Boolean(locals(res).principal) }, 404);
  });
  const failed: ErrorRequestHandler = (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const errorId = randomUUID();
    log.error({ errorId, method: req.method, path: req.route?.path ?? 'viewer', reason: (err as Error)?.name ?? 'error' }, 'viewer page failed');
    renderer.page(res, viewerContext(deps, res), 'error.njk', { title: 'Sorry, there is a problem with the service', paragraphs: ['Try again later.'], errorId }, 500);
  };
  router.use(failed);
  return router;
}
