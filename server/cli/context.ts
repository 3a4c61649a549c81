// What CLI commands share with the engine: the same TRAMLINE_* settings, store and queue.
import { formatProblem, loadChannelFolder } from '../../channels/load.js';
import type { ChannelDefinition } from '../../channels/definition.js';
import { EmbeddedQueue } from '../../channels/queue/embedded.js';
import { RabbitQueue } from '../../channels/queue/rabbitmq.js';
import type { DeliveryQueue } from '../../channels/queue/types.js';
import { subscriptionsOf } from '../../channels/routing.js';
import { loadConfig, type Config } from '../config.js';
import { openStore, type OpenedStore } from '../store/open-store.js';

export async function withStore<T>(fn: (opened: OpenedStore, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const opened = await openStore(config);
  try {
    return await fn(opened, config);
  } finally {
    await opened.store.close();
    await opened.db.close();
  }
}

export function loadChannelsOrThrow(dir: string): ChannelDefinition[] {
  const { channels, problems } = loadChannelFolder(dir);
  if (problems.length) throw new Error(`invalid channels:\n${problems.map(formatProblem).join('\n')}`);
  return channels;
}

/** A queue bound to the channels' destinations, for publishing only (no consumers). */
export async function openPublisher(opened: OpenedStore, config: Config, channels: ChannelDefinition[]): Promise<DeliveryQueue> {
  const queue: DeliveryQueue = config.amqpUrl
    ? new RabbitQueue({ url: config.amqpUrl, prefix: process.env.TRAMLINE_AMQP_PREFIX || 'tramline' })
    : new EmbeddedQueue(opened.db, { keys: opened.keys });
  await queue.start(channels.filter((c) => c.enabled).flatMap(subscriptionsOf));
  return queue;
}
