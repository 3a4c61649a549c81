// DeliveryQueue on RabbitMQ (used when TRAMLINE_AMQP_URL is set). Topology, ordering, retries
// and reconnection are described in docs/rabbitmq.md.
import amqp, { type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { reasonOf } from '../../core/errors.js';
import { coalesceFrameWrites } from './amqplib-internals.js';
import { log } from '../../core/logger.js';
import { encodeEnvelope } from './rabbitmq-codec.js';
import { DestinationConsumer, type RetryMode } from './rabbitmq-consumer.js';
import { discardDeadLetters, listDeadLetters, replayDeadLetters } from './rabbitmq-dead-letters.js';
import { ConfirmPublisher } from './rabbitmq-publisher.js';
export { PublishAbortedError, PublisherClosedError } from './rabbitmq-publisher.js';
import { declareTopology, destinationNames, inboundExchange, type TopologySettings } from './rabbitmq-topology.js';
import type { DeadLetter, DeliveryHandler, DeliveryQueue, Envelope, Subscription } from '../../core/queue.js';

export interface RabbitQueueOptions {
  /** `amqp://user:pass@host:5672/vhost` */
  url: string;
  /** Prefix of every exchange and queue name (default `tramline`). */
  prefix?: string;
  /** Partition queues per destination (default 8). Change it only with the queues drained. */
  partitions?: number;
  /** Unacked deliveries per partition consumer (default: the subscription's concurrency). */
  prefetch?: number;
  /** Unconfirmed publishes in flight (default 256). */
  publishWindow?: number;
  /** Deliveries lost without an ack (crashes) before the broker dead-letters a message (default 20). */
  deliveryLimit?: number;
  /**
   * How `retry` outcomes wait (default `in-place`: keeps per-key order). `delay-queue` parks the
   * message in a broker TTL queue instead; later messages of the same key may then overtake it.
   * A map sets it per destination.
   */
  retryMode?: RetryMode | Record<string, RetryMode>;
  /** Cap on one in-place retry wait (default 5 min; must stay below the broker's consumer_timeout). */
  maxRetryDelayMs?: number;
  /** TTLs of the delay queues used by `delay-queue` retries (default 1 s, 5 s, 30 s, 2 min, 10 min). */
  retryDelayLevelsMs?: number[];
  /** How often each engine re-checks its share of partitions (default 2 s). */
  rebalanceIntervalMs?: number;
  /** Reconnect backoff (defaults 100 ms doubling to 5 s, forever once connected). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; attemptsAtStart?: number };
}

export type { RetryMode };

export type ConnectionListener = (connected: boolean, error?: Error) => void;

const DEFAULTS = {
  prefix: 'tramline',
  partitions: 8,
  publishWindow: 256,
  deliveryLimit: 20,
  maxRetryDelayMs: 300_000,
  retryDelayLevelsMs: [1000, 5000, 30_000, 120_000, 600_000],
  rebalanceIntervalMs: 2000,
};

export class RabbitQueue implements DeliveryQueue {
  private readonly options: RabbitQueueOptions & typeof DEFAULTS;
  private readonly publisher: ConfirmPublisher;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly consumers = new Map<string, DestinationConsumer>();
  private readonly listeners = new Set<ConnectionListener>();
  private readonly deadLetterLocks = new Map<string, Promise<unknown>>();
  private connection: RecoveringChannelModel | undefined;
  /** The live connection, or undefined while the broker is away. */
  private model: ChannelModel | undefined;
  private closing = false;

  constructor(options: RabbitQueueOptions) {
    this.options = { ...DEFAULTS, ...options };
    if (!Number.isInteger(this.options.partitions) || this.options.partitions < 1) throw new Error('partitions must be a positive integer');
    const levels = this.options.retryDelayLevelsMs;
    if (levels.length === 0 || levels.some((l, i) => !Number.isInteger(l) || l < 1 || (i > 0 && l <= levels[i - 1]))) {
      throw new Error('retryDelayLevelsMs must be ascending positive integers');
    }
    this.publisher = new ConfirmPublisher(this.options.publishWindow);
  }

  /** True while a connection with declared topology is up. */
  get connected(): boolean {
    return this.model !== undefined;
  }

  /** Publishes accepted but not yet confirmed by the broker (they wait out a disconnection). */
  get pendingPublishes(): number {
    return this.publisher.pending;
  }

  /** Called with `false` when the broker goes away and `true` once reconnected; returns an unsubscribe. */
  onConnectionChange(listener: ConnectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Partitions of `destination` this process consumes right now. */
  ownedPartitions(destination: string): number[] {
    return this.consumers.get(destination)?.ownedPartitions ?? [];
  }

  /**
   * Connect and declare the topology. Calling it again (channel hot reload) adds or updates
   * subscriptions and declares what is new on the live connection; bindings are never removed.
   */
  async start(subscriptions: Subscription[]): Promise<void> {
    for (const subscription of subscriptions) this.subscriptions.set(subscription.destination, subscription);
    if (this.connection) {
      // Declared now if connected; otherwise on the next (re)connection, by setup().
      if (this.model) await this.declare(this.model);
      return;
    }
    const reconnect = this.options.reconnect ?? {};
    const connection = await amqp.connect(this.options.url, {
      // No Nagle: confirms and acks are small frames and latency matters (the HL7 ACK waits on them).
      noDelay: true,
      // A broker host that does not answer fails the attempt instead of hanging on the OS timeout.
      timeout: 10_000,
      recovery: {
        initialDelay: reconnect.initialDelayMs ?? 100,
        maxDelay: reconnect.maxDelayMs ?? 5000,
        initialMaxRetries: reconnect.attemptsAtStart ?? 3,
        setup: (model: ChannelModel) => this.setup(model),
      },
    });
    connection.on('connect', () => this.notify(true));
    connection.on('disconnect', (err: Error) => this.onDisconnect(err));
    connection.on('reconnect-scheduled', (info: { attempt: number; delay: number }) => log.info({ attempt: info.attempt, delayMs: info.delay }, 'rabbitmq: reconnecting'));
    connection.on('error', (err: Error) => log.warn({ err: reasonOf(err) }, 'rabbitmq: connection error'));
    this.connection = connection;
  }

  /**
   * Resolves once the broker confirmed every envelope. While the broker is away it waits and
   * sends on reconnection; pass `signal` to stop waiting (the engine can then keep the backlog in
   * its store and publish it again later; duplicates are absorbed by messageId downstream).
   */
  async publish(envelopes: Envelope[], options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.connection) throw new Error('RabbitQueue not started');
    const exchange = inboundExchange(this.options.prefix);
    const messages = envelopes.map((envelope) => ({ exchange, routingKey: envelope.routingKey, ...encodeEnvelope(envelope, this.options.partitions) }));
    await this.publisher.publish(messages, options.signal);
  }

  async consume(destination: string, handler: DeliveryHandler): Promise<void> {
    const subscription = this.subscriptions.get(destination);
    if (!subscription) throw new Error(`no subscription for destination ${destination}`);
    if (this.consumers.has(destination)) throw new Error(`destination ${destination} already has a consumer`);
    const concurrency = Math.max(1, subscription.concurrency);
    const consumer = new DestinationConsumer(
      {
        destination,
        names: destinationNames(this.options.prefix, destination),
        partitions: this.options.partitions,
        concurrency,
        prefetch: this.options.prefetch ?? concurrency,
        retryMode: this.retryModeOf(destination),
        maxRetryDelayMs: this.options.maxRetryDelayMs,
        retryDelayLevelsMs: this.options.retryDelayLevelsMs,
        rebalanceIntervalMs: this.options.rebalanceIntervalMs,
      },
      handler,
    );
    this.consumers.set(destination, consumer);
    if (this.model) await consumer.attach(this.model);
  }

  listDeadLetters(destination: string, limit = 100): Promise<DeadLetter[]> {
    return this.withDeadLetterLock(destination, (model) => listDeadLetters(model, destinationNames(this.options.prefix, destination), destination, limit));
  }

  replayDeadLetters(destination: string, messageIds?: string[]): Promise<number> {
    return this.withDeadLetterLock(destination, (model) =>
      replayDeadLetters(model, destinationNames(this.options.prefix, destination), this.options.partitions, messageIds),
    );
  }

  /** Not in DeliveryQueue: delete dead letters an operator gave up on. Returns how many went. */
  discardDeadLetters(destination: string, messageIds: string[]): Promise<number> {
    return this.withDeadLetterLock(destination, (model) => discardDeadLetters(model, destinationNames(this.options.prefix, destination), messageIds));
  }

  /** Ready messages in the destination's partition and delay queues plus this process's in-place retries. */
  async depth(destination: string): Promise<number> {
    const model = this.requireModel(destination);
    const names = destinationNames(this.options.prefix, destination);
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    try {
      let total = 0;
      for (let p = 0; p < this.options.partitions; p++) total += (await channel.checkQueue(names.partitionQueue(p))).messageCount;
      for (const ttl of this.options.retryDelayLevelsMs) total += (await channel.checkQueue(names.delayQueue(ttl))).messageCount;
      return total + (this.consumers.get(destination)?.retrying ?? 0);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all([...this.consumers.values()].map((consumer) => consumer.close()));
    // Give confirms already on the wire a moment; anything left fails its publish() call.
    if (this.model) await this.publisher.idle(10_000);
    this.publisher.close();
    const connection = this.connection;
    this.model = undefined;
    this.connection = undefined;
    await connection?.close().catch(() => undefined);
  }

  /** Runs on every (re)connection, before amqplib reports it connected. */
  private async setup(model: ChannelModel): Promise<void> {
    coalesceFrameWrites(model);
    await this.declare(model);
    this.model = model;
    await this.openPublishChannel(model);
    for (const consumer of this.consumers.values()) await consumer.attach(model);
  }

  private async declare(model: ChannelModel): Promise<void> {
    const settings: TopologySettings = {
      prefix: this.options.prefix,
      partitions: this.options.partitions,
      deliveryLimit: this.options.deliveryLimit,
      retryDelayLevelsMs: this.options.retryDelayLevelsMs,
    };
    const admin = await model.createChannel();
    admin.on('error', () => undefined);
    try {
      await declareTopology(admin, settings, [...this.subscriptions.values()]);
    } finally {
      await admin.close().catch(() => undefined);
    }
  }

  private async openPublishChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (err: unknown) => log.warn({ err: reasonOf(err) }, 'rabbitmq: publish channel error'));
    channel.on('close', () => {
      // A channel-level error with the connection still up: open another one.
      if (this.model !== model || this.closing) return;
      setTimeout(() => {
        if (this.model === model && !this.closing) this.openPublishChannel(model).catch((err: unknown) => log.warn({ err: reasonOf(err) }, 'rabbitmq: reopening publish channel failed'));
      }, 1000).unref();
    });
    this.publisher.attach(channel);
  }

  private onDisconnect(err: Error): void {
    this.model = undefined;
    this.publisher.detach();
    for (const consumer of this.consumers.values()) consumer.detach();
    log.warn({ err: reasonOf(err), pendingPublishes: this.publisher.pending }, 'rabbitmq: connection lost');
    this.notify(false, err);
  }

  private notify(connected: boolean, error?: Error): void {
    if (connected) log.info('rabbitmq: connected');
    for (const listener of this.listeners) {
      try {
        listener(connected, error);
      } catch (err) {
        log.warn({ err: reasonOf(err) }, 'rabbitmq: connection listener failed');
      }
    }
  }

  private retryModeOf(destination: string): RetryMode {
    const mode = this.options.retryMode;
    if (mode === undefined) return 'in-place';
    return typeof mode === 'string' ? mode : (mode[destination] ?? 'in-place');
  }

  private requireModel(destination: string): ChannelModel {
    if (!this.subscriptions.has(destination)) throw new Error(`no subscription for destination ${destination}`);
    if (!this.model) throw new Error('RabbitMQ is not connected');
    return this.model;
  }

  /** One dead-letter operation per destination at a time in this process (they hold messages unacked). */
  private async withDeadLetterLock<T>(destination: string, task: (model: ChannelModel) => Promise<T>): Promise<T> {
    const previous = this.deadLetterLocks.get(destination) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => task(this.requireModel(destination)));
    this.deadLetterLocks.set(destination, run);
    try {
      return await run;
    } finally {
      if (this.deadLetterLocks.get(destination) === run) this.deadLetterLocks.delete(destination);
    }
  }
}
