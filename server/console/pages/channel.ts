// GET /channels/:id — one channel: a readable summary, its definition as YAML (destination
// settings left out, as the API leaves them out), destinations with their queues, recent messages.
import express, { type Router } from 'express';
import YAML from 'yaml';
import { allows } from '../../auth/roles.js';
import { locals, page } from '../access.js';
import { sourceOf } from '../dashboard-data.js';
import { CONSOLE_PAGES } from './table.js';
import { pageContext, takeFlash, type PageDeps } from './context.js';
import { tagColour } from './messages.js';

export function channelRouter(deps: PageDeps): Router {
  const router = express.Router();
  router.get(CONSOLE_PAGES.channel.path, page(CONSOLE_PAGES.channel, deps.refusals), async (req, res) => {
    const id = String(req.params.id);
    const c = deps.engine.channels().find((x) => x.id === id);
    if (!c) return deps.renderer.page(res, pageContext(deps, req, res), 'error.njk', { title: 'Page not found', paragraphs: ['No channel with that id is deployed.'] }, 404);
    const stats = await deps.engine.channelStats(id);
    const mayList = allows(locals(res).principal!.roles, 'messages:read');
    const filter = c.pipeline?.filter as { messageTypes?: string[] } | undefined;
    const summaryRows = [
      ['Id', c.id],
      ['State', c.running ? 'Running' : 'Stopped'],
      ['Source', sourceOf(c)],
      ['Filter', filter?.messageTypes ? `message types ${filter.messageTypes.join(', ')}` : c.pipeline?.filter ? 'yes (see the definition)' : 'none: every message'],
      ['Mapping', c.pipeline?.map ?? 'none'],
      ['Content kept', c.retention?.contentDays ? `${c.retention.contentDays} days` : 'until pruned'],
      ['Messages stored', `${stats.received.toLocaleString('en-GB')} (${stats.rejected.toLocaleString('en-GB')} rejected)`],
    ];
    deps.renderer.page(res, pageContext(deps, req, res), 'channel.njk', {
      title: `Channel ${c.name ?? c.id}`,
      c,
      summaryRows,
      destinations: c.destinations.map((d) => ({ ...d, stats: stats.destinations[d.id] })),
      recent: mayList ? await deps.engine.store.list({ channel: id, limit: 10 }) : [],
      yaml: YAML.stringify(c),
      tagColour,
      flash: takeFlash(res),
    });
  });
  return router;
}
