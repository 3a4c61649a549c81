// Start or stop a channel's source, and redeploy every channel from the channel files
// (channels:manage): each behind a confirmation page, through the API's facade, CSRF-checked,
// audited with what changed.
import express, { type Request, type Response, type Router } from 'express';
import { HttpError } from '../../http/errors.js';
import { locals, page } from '../access.js';
import { csrfTokenMatches } from '../csrf.js';
import { CONSOLE_PAGES } from './table.js';
import { pageContext, type PageDeps } from './context.js';

const form = express.urlencoded({ extended: false, limit: '4kb' });

const ACTIONS = {
  start: { confirm: CONSOLE_PAGES.channelStartConfirm, act: CONSOLE_PAGES.channelStart, running: true },
  stop: { confirm: CONSOLE_PAGES.channelStopConfirm, act: CONSOLE_PAGES.channelStop, running: false },
} as const;

function csrfRefused(deps: PageDeps, req: Request, res: Response): boolean {
  if (csrfTokenMatches(locals(res).session, req.body)) return false;
  locals(res).authFailure = 'CSRF token missing or wrong';
  deps.refusals.forbidden(req, res, 'a valid form');
  return true;
}

function notFound(deps: PageDeps, req: Request, res: Response): void {
  deps.renderer.page(res, pageContext(deps, req, res), 'error.njk', { title: 'Page not found', paragraphs: ['No channel with that id is deployed.'] }, 404);
}

/** What a redeploy did, in a sentence. */
export function describeRedeploy(r: { added: string[]; changed: string[]; removed: string[]; unchanged: string[] }): string {
  const parts = [
    r.added.length ? `started ${r.added.join(', ')}` : '',
    r.changed.length ? `restarted ${r.changed.join(', ')} (changed)` : '',
    r.removed.length ? `stopped ${r.removed.join(', ')} (removed or disabled)` : '',
  ].filter(Boolean);
  return parts.length ? `Channels redeployed: ${parts.join('; ')}.` : `Nothing changed: the channel files match what is deployed (${r.unchanged.length} channel${r.unchanged.length === 1 ? '' : 's'}).`;
}

export function channelControlRouter(deps: PageDeps): Router {
  const router = express.Router();

  for (const [action, a] of Object.entries(ACTIONS)) {
    router.get(a.confirm.path, page(a.confirm, deps.refusals), (req, res) => {
      const c = deps.engine.channels().find((x) => x.id === req.params.id);
      if (!c) return notFound(deps, req, res);
      deps.renderer.page(res, pageContext(deps, req, res), 'channel-control.njk', { title: `${action === 'stop' ? 'Stop' : 'Start'} the channel ${c.name ?? c.id}?`, c, action });
    });

    router.post(a.act.path, page(a.act, deps.refusals), form, async (req, res) => {
      if (csrfRefused(deps, req, res)) return;
      const l = locals(res);
      const id = String(req.params.id);
      if (!deps.engine.channels().some((x) => x.id === id)) return notFound(deps, req, res);
      const changed = await deps.engine.setChannelRunning(id, a.running);
      l.auditDetail = { channel: id, changed };
      l.session!.flash = changed
        ? { kind: 'success', text: `The channel ${id} was ${a.running ? 'started' : 'stopped'}.` }
        : { kind: 'info', text: `The channel ${id} was already ${a.running ? 'running' : 'stopped'}.` };
      res.redirect(303, `/channels/${encodeURIComponent(id)}`);
    });
  }

  router.get(CONSOLE_PAGES.redeployConfirm.path, page(CONSOLE_PAGES.redeployConfirm, deps.refusals), (req, res) => {
    deps.renderer.page(res, pageContext(deps, req, res), 'redeploy.njk', { title: 'Redeploy the channels from their files?', channels: deps.engine.channels() });
  });

  router.post(CONSOLE_PAGES.redeploy.path, page(CONSOLE_PAGES.redeploy, deps.refusals), form, async (req, res) => {
    if (csrfRefused(deps, req, res)) return;
    const l = locals(res);
    try {
      const result = await deps.engine.redeploy();
      l.auditDetail = { ...result };
      l.session!.flash = { kind: 'success', text: describeRedeploy(result) };
      res.redirect(303, '/');
    } catch (err) {
      // Invalid channel files deploy nothing: say what is wrong with them.
      if (!(err instanceof HttpError) || (err.status !== 422 && err.status !== 501)) throw err;
      const problems = Array.isArray(err.extra?.problems) ? (err.extra.problems as unknown[]).map(String) : [];
      l.auditDetail = { problems: problems.length };
      deps.renderer.page(res, pageContext(deps, req, res), 'redeploy.njk', { title: 'Redeploy the channels from their files?', channels: deps.engine.channels(), failure: err.message, problems }, err.status);
    }
  });

  return router;
}
