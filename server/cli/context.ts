// What CLI commands share with the engine: the same TRAMLINE_* settings, store and queue.
// Imported by every command module, so it imports its heavy parts (channel schema validation,
// queues, the store) only when a command uses them: `tramline --help` loads none of them.
import type { ChannelDefinition } from '../../channels/definition.js';
import type { DeliveryQueue } from '../../core/queue.js';
import { loadConfig, type Config } from '../../core/config.js';
import type { OpenedStore } from '../open-store.js';

export async function withStore<T>(fn: (opened: OpenedStore, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { openStore } = await import('../open-store.js');
  const opened = await openStore(config);
  try {
    return await fn(opened, config);
  } finally {
    await opened.store.close();
    await opened.db.close();
  }
}

export async function loadChannelsOrThrow(dir: string): Promise<ChannelDefinition[]> {
  const { formatProblem, loadChannelFolder } = await import('../../channels/load.js');
  const { channels, problems } = loadChannelFolder(dir);
  if (problems.length) throw new Error(`invalid channels:\n${problems.map(formatProblem).join('\n')}`);
  return channels;
}

/** A queue bound to the channels' destinations, for publishing only (no consumers). */
export async function openPublisher(opened: OpenedStore, config: Config, channels: ChannelDefinition[]): Promise<DeliveryQueue> {
  const { subscriptionsOf } = await import('../../channels/routing.js');
  const queue: DeliveryQueue = config.amqpUrl
    ? new (await import('../../adapters/queue/rabbitmq.js')).RabbitQueue({ url: config.amqpUrl, prefix: process.env.TRAMLINE_AMQP_PREFIX || 'tramline' })
    : new (await import('../../adapters/queue/embedded.js')).EmbeddedQueue(opened.db, { keys: opened.keys });
  await queue.start(channels.filter((c) => c.enabled).flatMap(subscriptionsOf));
  return queue;
}
