// Channels: list, show, per-channel statistics, validate a channel file.
import { formatProblem, loadChannelText } from '../../../channels/load.js';
import { HttpError } from '../../http/errors.js';
import type { ApiRoute } from '../route.js';

const channelSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    enabled: { type: 'boolean' },
    running: { type: 'boolean' },
    source: { type: 'object' },
    pipeline: { type: 'object' },
    destinations: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, type: { type: 'string' }, routes: { type: 'array', items: { type: 'string' } } } } },
    retention: { type: 'object', properties: { contentDays: { type: 'integer' } } },
  },
};

const counts = { queued: { type: 'integer' }, sent: { type: 'integer' }, filtered: { type: 'integer' }, errored: { type: 'integer' }, deadLettered: { type: 'integer' } };
const statsSchema = {
  type: 'object',
  properties: {
    channel: { type: 'string' },
    received: { type: 'integer' },
    rejected: { type: 'integer' },
    backlog: { type: 'integer' },
    ...counts,
    destinations: { type: 'object', additionalProperties: { type: 'object', properties: counts } },
  },
};

export const channelRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/channels',
    operationId: 'listChannels',
    tag: 'channels',
    summary: 'Deployed channels (destination settings such as database URLs are not shown)',
    permission: 'channels:read',
    response: { description: 'channels', schema: { type: 'object', properties: { channels: { type: 'array', items: channelSchema } } } },
    handle: async (ctx) => ({ channels: ctx.engine.channels() }),
  },
  {
    method: 'get',
    path: '/channels/:id',
    operationId: 'getChannel',
    tag: 'channels',
    summary: 'One channel with its statistics',
    permission: 'channels:read',
    response: { description: 'the channel', schema: { type: 'object', properties: { channel: channelSchema, stats: statsSchema } } },
    handle: async (ctx, req) => {
      const id = String(req.params.id);
      const channel = ctx.engine.channels().find((c) => c.id === id);
      if (!channel) throw new HttpError(404, `no channel ${id}`);
      return { channel, stats: await ctx.engine.channelStats(id) };
    },
  },
  {
    method: 'get',
    path: '/channels/:id/stats',
    operationId: 'getChannelStats',
    tag: 'channels',
    summary: 'Per-channel statistics: received, rejected, filtered, backlog, queued, sent, errored, dead-lettered (and per destination)',
    permission: 'channels:read',
    response: { description: 'statistics', schema: statsSchema },
    handle: async (ctx, req) => ctx.engine.channelStats(String(req.params.id)),
  },
  ...(['start', 'stop'] as const).map(
    (action): ApiRoute => ({
      method: 'post',
      path: `/channels/:id/${action}`,
      operationId: `${action}Channel`,
      tag: 'channels',
      summary:
        action === 'stop'
          ? "Stop the channel's source (MLLP port closed, folder or database no longer read); deliveries already queued go on"
          : "Start the channel's source again",
      permission: 'channels:manage',
      response: { description: 'whether anything changed, and the channel', schema: { type: 'object', properties: { changed: { type: 'boolean' }, channel: channelSchema } } },
      handle: async (ctx, req) => {
        const id = String(req.params.id);
        const changed = await ctx.engine.setChannelRunning(id, action === 'start');
        return { changed, channel: ctx.engine.channels().find((c) => c.id === id) };
      },
    }),
  ),
  {
    method: 'post',
    path: '/channels/deploy',
    operationId: 'deployChannels',
    tag: 'channels',
    summary: 'Re-read the channel files (TRAMLINE_CHANNELS) and deploy what changed: new channels start, changed ones restart, removed ones stop; invalid files deploy nothing (422 with the problems)',
    permission: 'channels:manage',
    response: {
      description: 'what changed',
      schema: { type: 'object', properties: { added: { type: 'array', items: { type: 'string' } }, changed: { type: 'array', items: { type: 'string' } }, removed: { type: 'array', items: { type: 'string' } }, unchanged: { type: 'array', items: { type: 'string' } } } },
    },
    handle: async (ctx) => ctx.engine.redeploy(),
  },
  {
    method: 'post',
    path: '/channels/validate',
    operationId: 'validateChannel',
    tag: 'channels',
    summary: 'Validate a channel file (YAML) without deploying it',
    permission: 'channels:manage',
    body: { contentTypes: ['application/yaml', 'text/yaml', 'text/plain'], schema: { type: 'string' }, required: true },
    response: {
      description: 'valid, or the problems with file, line and field',
      schema: { type: 'object', properties: { valid: { type: 'boolean' }, problems: { type: 'array', items: { type: 'object' } }, text: { type: 'array', items: { type: 'string' } } } },
    },
    handle: async (_ctx, req) => {
      if (typeof req.body !== 'string' || !req.body.trim()) throw new HttpError(400, 'send the channel YAML as the request body (Content-Type: application/yaml)');
      // Environment references are checked against an empty environment: the API never reveals
      // which secrets the engine holds.
      const { problems } = loadChannelText(req.body, 'posted.yaml', {});
      const real = problems.filter((p) => !/environment variable .* is not set/.test(p.message));
      return { valid: real.length === 0, problems: real, text: real.map(formatProblem) };
    },
  },
];
