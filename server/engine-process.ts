// Wires one engine process: store, queue (embedded or RabbitMQ), channels, HTTP. This is
// what `tramline start` and `npm start` run.
import type { Server } from 'node:http';
import { EmbeddedQueue } from '../channels/queue/embedded.js';
import { RabbitQueue } from '../channels/queue/rabbitmq.js';
import type { DeliveryQueue } from '../channels/queue/types.js';
import type { ChannelDefinition } from '../channels/definition.js';
import { Engine } from '../channels/engine.js';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { log } from './logger.js';
import { openStore, type OpenedStore } from './store/open-store.js';

export interface RunningEngine {
  engine: Engine;
  opened: OpenedStore;
  queue: DeliveryQueue;
  httpPort: number;
  stop(): Promise<void>;
}

function createQueue(config: Config, opened: OpenedStore): { queue: DeliveryQueue; rabbit?: RabbitQueue } {
  if (!config.amqpUrl) return { queue: new EmbeddedQueue(opened.db, { keys: opened.keys }) };
  const rabbit = new RabbitQueue({ url: config.amqpUrl, prefix: process.env.TRAMLINE_AMQP_PREFIX || 'tramline' });
  return { queue: rabbit, rabbit };
}

export async function runEngine(config: Config, channels: ChannelDefinition[]): Promise<RunningEngine> {
  const opened = await openStore(config);
  const { queue, rabbit } = createQueue(config, opened);
  const engine = new Engine({
    store: opened.store,
    queue,
    channels,
    queueAvailable: rabbit ? () => rabbit.connected : undefined,
  });
  try {
    await engine.start();
  } catch (err) {
    await engine.stop().catch(() => undefined);
    await opened.store.close();
    await opened.db.close();
    throw err;
  }
  // When the broker comes back, queue what was stored while it was away.
  rabbit?.onConnectionChange((connected) => {
    log.info({ connected }, 'queue connection changed');
    if (connected) void engine.flushBacklog().catch(() => undefined);
  });

  const app = createApp({ notReadyReason: () => (rabbit && !rabbit.connected ? 'message broker disconnected' : null) });
  const http: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.httpPort, () => resolve(s)).on('error', reject);
  });
  const address = http.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      http.close();
      await engine.stop();
      await opened.store.close();
      await opened.db.close();
      http.closeAllConnections();
    })());
  return { engine, opened, queue, httpPort, stop };
}
