// What the admin API needs from a running engine, behind one small interface so routes can be
// tested against a real in-process engine (or anything else that keeps the contract).
import { destinationId, type ChannelDefinition } from '../../channels/definition.js';
import { reasonOf } from '../../core/errors.js';
import { ContentGoneError, envelopeForStored } from '../../channels/republish.js';
import type { DeliveryQueue } from '../../core/queue.js';
import type { Db } from '../../adapters/store/db.js';
import type { MessageStore } from '../../core/store.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import type { NoticeService } from '../../channels/notice-service.js';
import { HttpError } from '../http/errors.js';
import { channelActivity, channelStats, channelThroughput, lastChannelError, type ChannelActivity, type ChannelStats, type LastError } from './stats.js';

export interface DestinationSummary {
  id: string;
  name: string;
  type: string;
  routes?: string[];
}

export interface ChannelSummary {
  id: string;
  name?: string;
  description?: string;
  enabled: boolean;
  running: boolean;
  source: { type: string; host?: string; port?: number };
  pipeline?: { filter?: unknown; map?: string };
  destinations: DestinationSummary[];
  retention?: { contentDays?: number };
}

export interface DeadLetterInfo {
  messageId: string;
  channel: string;
  destination: string;
  routingKey: string;
  /** Envelope headers: message type, sending facility, control id, received time (no content). */
  headers: Record<string, string>;
  reason: string;
  attempts: number;
  deadLetteredAt: string;
}

export interface ReprocessResult {
  queued: string[];
  skipped: { id: string; reason: string }[];
}

export interface EngineFacade {
  channels(): ChannelSummary[];
  channelStats(id: string): Promise<ChannelStats>;
  /** What became of the messages a channel received since `since` (the console's last hour and day). */
  channelActivity(id: string, since: Date): Promise<ChannelActivity>;
  /** The channel's newest rejection or failed delivery. */
  lastError(id: string): Promise<LastError | undefined>;
  /** Messages received per bucket of `bucketMs`, `buckets` of them from `since` on (oldest first). */
  channelThroughput(id: string, since: Date, bucketMs: number, buckets: number): Promise<number[]>;
  /** The deployed definition (destination settings included: never send it to a client as it is). */
  definition(id: string): ChannelDefinition | undefined;
  readonly store: Pick<MessageStore, 'list' | 'get' | 'events' | 'readContent' | 'contentStages'>;
  /** `via`: how it was asked for, for the history (default `API`). */
  reprocess(ids: string[], by: string, via?: string): Promise<ReprocessResult>;
  deadLetters(destination?: string, limit?: number): Promise<DeadLetterInfo[]>;
  /** `via`: how it was asked for, for the history (default `API`). */
  replayDeadLetters(destination: string, messageIds: string[] | undefined, by: string, via?: string): Promise<number>;
  discardDeadLetters(destination: string, messageIds: string[], reason: string, by: string): Promise<number>;
  /** Start or stop one channel's source; false when nothing changed. */
  setChannelRunning(id: string, running: boolean): Promise<boolean>;
  /** Re-read the channel files and deploy what changed. */
  redeploy(): Promise<RedeployResult>;
  /** Hospital notices (ADW): list, show, decide; absent when the engine keeps no notices (the API answers 501). */
  readonly notices?: NoticeService;
}

export interface RedeployResult {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
}

/** What the API may do to the running engine. */
export interface EngineControl {
  start(id: string): Promise<boolean>;
  stop(id: string): Promise<boolean>;
  /** Re-read the channel folder and deploy what changed; throws HttpError 422 with problems. */
  redeploy?(): Promise<RedeployResult>;
  /** The definitions deployed now. */
  definitions?(): ChannelDefinition[];
}

export interface EngineFacadeOptions {
  definitions: ChannelDefinition[];
  /** Bound MLLP port per running channel id. */
  runningPorts: () => ReadonlyMap<string, number>;
  /** Start/stop a channel's source (absent: the API answers 501). */
  control?: EngineControl;
  /** The engine's (observed) store, so API actions reach the audit trail like engine ones. */
  store: MessageStore;
  queue: DeliveryQueue;
  db: Db<StoreDatabase>;
  notices?: NoticeService;
}

function summarise(c: ChannelDefinition, port: number | undefined): ChannelSummary {
  // Network sources have host/port; others (e.g. file) do not: show only what is there.
  const source = c.source as { type: string; host?: unknown; port?: unknown };
  const configuredPort = typeof source.port === 'number' ? source.port : undefined;
  const boundPort = port ?? configuredPort;
  return {
    id: c.id,
    ...(c.name ? { name: c.name } : {}),
    ...(c.description ? { description: c.description } : {}),
    enabled: c.enabled,
    running: port !== undefined,
    source: { type: source.type, ...(typeof source.host === 'string' ? { host: source.host } : {}), ...(boundPort !== undefined ? { port: boundPort } : {}) },
    ...(c.pipeline ? { pipeline: c.pipeline } : {}),
    // Destination settings stay out: they hold database URLs and credentials.
    destinations: c.destinations.map((d) => ({ id: destinationId(c.id, d.name), name: d.name, type: d.type, ...(d.routes ? { routes: d.routes } : {}) })),
    ...(c.retention ? { retention: c.retention } : {}),
  };
}

export function createEngineFacade(o: EngineFacadeOptions): EngineFacade {
  // After a redeploy the engine's definitions change: always read the current ones.
  const definitions = () => (o.control?.definitions?.() ?? o.definitions).filter((c) => c.enabled);
  const byId = { get: (id: string) => definitions().find((c) => c.id === id), has: (id: string) => definitions().some((c) => c.id === id) };
  const allDestinations = () => definitions().flatMap((c) => c.destinations.map((d) => destinationId(c.id, d.name)));
  const requireDestination = (id: string) => {
    if (!allDestinations().includes(id)) throw new HttpError(404, `no destination ${id}`);
  };

  return {
    store: o.store,
    ...(o.notices ? { notices: o.notices } : {}),

    channels() {
      const ports = o.runningPorts();
      return definitions().map((c) => summarise(c, ports.get(c.id)));
    },

    async setChannelRunning(id, running) {
      if (!byId.has(id)) throw new HttpError(404, `no channel ${id}`);
      if (!o.control) throw new HttpError(501, 'this engine cannot start or stop channels');
      return running ? o.control.start(id) : o.control.stop(id);
    },

    async redeploy() {
      if (!o.control?.redeploy) throw new HttpError(501, 'this engine cannot redeploy channels');
      return o.control.redeploy();
    },

    async channelStats(id) {
      const channel = byId.get(id);
      if (!channel) throw new HttpError(404, `no channel ${id}`);
      return channelStats(o.db.kysely, o.queue, channel);
    },

    async channelActivity(id, since) {
      const channel = byId.get(id);
      if (!channel) throw new HttpError(404, `no channel ${id}`);
      return channelActivity(o.db.kysely, channel, since);
    },

    async lastError(id) {
      const channel = byId.get(id);
      if (!channel) throw new HttpError(404, `no channel ${id}`);
      return lastChannelError(o.db.kysely, channel);
    },

    async channelThroughput(id, since, bucketMs, buckets) {
      const channel = byId.get(id);
      if (!channel) throw new HttpError(404, `no channel ${id}`);
      return channelThroughput(o.db.kysely, channel, since, bucketMs, buckets);
    },

    definition: (id) => byId.get(id),

    async reprocess(ids, by, via = 'API') {
      const result: ReprocessResult = { queued: [], skipped: [] };
      for (const id of ids) {
        const m = await o.store.get(id);
        if (!m) {
          result.skipped.push({ id, reason: 'no such message' });
          continue;
        }
        if (!byId.has(m.channel)) {
          result.skipped.push({ id, reason: `channel ${m.channel} is not deployed` });
          continue;
        }
        try {
          await o.queue.publish([await envelopeForStored(o.store, byId.get(m.channel), m)]);
        } catch (err) {
          result.skipped.push({ id, reason: err instanceof ContentGoneError ? err.message : reasonOf(err) });
          continue;
        }
        await o.store.setStatus(id, 'queued');
        await o.store.addEvent(id, 'reprocessed', { detail: `via ${via} by ${by}` });
        result.queued.push(id);
      }
      return result;
    },

    async deadLetters(destination, limit = 100) {
      if (destination) requireDestination(destination);
      const destinations = destination ? [destination] : allDestinations();
      const out: DeadLetterInfo[] = [];
      for (const d of destinations) {
        for (const dl of await o.queue.listDeadLetters(d, limit)) {
          out.push({
            messageId: dl.envelope.messageId,
            channel: dl.envelope.channel,
            destination: dl.destination,
            routingKey: dl.envelope.routingKey,
            headers: dl.envelope.headers,
            reason: dl.reason,
            attempts: dl.attempts,
            deadLetteredAt: dl.deadLetteredAt.toISOString(),
          });
        }
      }
      return out.slice(0, limit);
    },

    async replayDeadLetters(destination, messageIds, by, via = 'API') {
      requireDestination(destination);
      const ids = messageIds ?? (await o.queue.listDeadLetters(destination, 10_000)).map((d) => d.envelope.messageId);
      const moved = await o.queue.replayDeadLetters(destination, ids);
      for (const id of ids) await o.store.addEvent(id, 'replayed', { destination, detail: `via ${via} by ${by}` });
      return moved;
    },

    async discardDeadLetters(destination, messageIds, reason, by) {
      requireDestination(destination);
      if (!messageIds.length) return 0;
      const discarded = await o.queue.discardDeadLetters(destination, messageIds);
      for (const id of messageIds) await o.store.addEvent(id, 'discarded', { destination, detail: `${reason} (by ${by})` });
      return discarded;
    },
  };
}
