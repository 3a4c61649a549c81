// One destination's consumer in one engine process.
//
// Partitions: the destination has N quorum queues (single active consumer). An engine consumes a
// partition only while it holds that partition's lock, an exclusive queue owned by its
// connection, so the broker itself says who owns what and a lost connection frees its
// partitions at once. Every engine counts the engines (consumers on the members queue) and
// claims or releases partitions towards an even share.
//
// Order: within a partition, deliveries of one partition key run one after another (a promise
// chain per key); other keys run in parallel up to `concurrency`. A retry waits in place, so a
// later message of the same key cannot overtake it.
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { reasonOf } from '../../core/errors.js';
import { log } from '../../core/logger.js';
import { AckBatcher } from './rabbitmq-acks.js';
import { decodeMessage, encodeEnvelope, HEADER, type DecodedMessage, type EncodedMessage } from './rabbitmq-codec.js';
import { declareMembers, delayLevelFor, type DestinationNames } from './rabbitmq-topology.js';
import type { DeliveryHandler, DeliveryOutcome, Envelope } from '../../core/queue.js';

export type RetryMode = 'in-place' | 'delay-queue';

export interface DestinationConsumerSettings {
  destination: string;
  names: DestinationNames;
  partitions: number;
  /** Handler calls in flight for this destination. */
  concurrency: number;
  /** Unacked deliveries the broker may push to each partition consumer. */
  prefetch: number;
  /** `in-place` keeps per-key order; `delay-queue` parks retries in the broker (see docs). */
  retryMode: RetryMode;
  /** An in-place retry never waits longer than this (the broker's consumer_timeout is 30 min). */
  maxRetryDelayMs: number;
  /** Delay queue TTLs, ascending (delay-queue mode). */
  retryDelayLevelsMs: number[];
  rebalanceIntervalMs: number;
}

/** One consumer channel on one connection; aborted when either goes away. */
interface Generation {
  model: ChannelModel;
  channel: ConfirmChannel;
  abort: AbortController;
  /** Acks of this channel's deliveries, sent in runs (rabbitmq-acks.ts). */
  acks: AckBatcher;
}

interface OwnedPartition {
  partition: number;
  generation: Generation;
  consumerTag?: string;
  inFlight: number;
  onDrained?: () => void;
}

class Slots {
  private free: number;
  private readonly waiters: Array<() => void> = [];
  constructor(size: number) {
    this.free = Math.max(1, size);
  }
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

const PREVIOUS_OWNER_TIMEOUT_MS = 30_000;

/** Backoff when a handler throws instead of returning an outcome. */
function fallbackDelay(attempt: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempt - 1), 60_000);
}

export class DestinationConsumer {
  private model: ChannelModel | undefined;
  private generation: Generation | undefined;
  private readonly owned = new Map<number, OwnedPartition>();
  /** Partition locks our connection holds; can outlive `owned` when only the channel died. */
  private readonly heldLocks = new Set<number>();
  private readonly keyTails = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly slots: Slots;
  private timer: NodeJS.Timeout | undefined;
  private rebalancing: Promise<void> | undefined;
  private stopped = false;
  /** Deliveries waiting in place for their next attempt. */
  retrying = 0;

  constructor(private readonly settings: DestinationConsumerSettings, private readonly handler: DeliveryHandler) {
    this.slots = new Slots(settings.concurrency);
  }

  /** Partitions this process consumes right now. */
  get ownedPartitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** A (re)connected model: open a channel, join the members and claim a share. */
  async attach(model: ChannelModel): Promise<void> {
    this.model = model;
    this.timer ??= setInterval(() => void this.rebalance(), this.settings.rebalanceIntervalMs);
    this.timer.unref();
    await this.rebalance();
  }

  /** The connection is gone: its channel, consumers and partition locks went with it. */
  detach(): void {
    this.model = undefined;
    this.heldLocks.clear();
    if (this.generation) this.lose(this.generation);
  }

  /**
   * Finish the handlers already running, leave every other delivery unacked and close the
   * channel. No basic.cancel first: on RabbitMQ 3.10 a quorum queue returns the messages of a
   * cancelled consumer behind newer ones, but those of a closed channel in their original order.
   */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.rebalancing;
    const generation = this.generation;
    // Deliveries not yet started see the abort and stay unacked; in-place retries stop waiting.
    generation?.abort.abort();
    await Promise.allSettled([...this.inFlight]);
    if (generation) {
      generation.acks.flush();
      this.generation = undefined;
      await generation.channel.close().catch(() => undefined);
    }
    this.owned.clear();
  }

  rebalance(): Promise<void> {
    if (this.rebalancing) return this.rebalancing;
    this.rebalancing = this.balance()
      .catch((err: unknown) => log.warn({ destination: this.settings.destination, err: reasonOf(err) }, 'rabbitmq: rebalance failed'))
      .finally(() => {
        this.rebalancing = undefined;
      });
    return this.rebalancing;
  }

  private async balance(): Promise<void> {
    if (this.stopped || !this.model) return;
    const generation = this.generation ?? (await this.openGeneration(this.model));
    const { consumerCount } = await generation.channel.checkQueue(this.settings.names.members);
    const share = Math.ceil(this.settings.partitions / Math.max(1, consumerCount));
    // Locks still held from a channel that died while the connection stayed up: use or free them.
    for (const partition of [...this.heldLocks]) {
      if (this.owned.has(partition)) continue;
      if (this.owned.size < share) await this.startConsuming(generation, partition);
      else await this.dropLock(generation, partition);
    }
    if (this.owned.size > share) {
      // Give up the quietest partitions: a release waits for their deliveries to finish.
      const quietest = [...this.owned.values()].sort((x, y) => x.inFlight - y.inFlight);
      await Promise.all(quietest.slice(0, this.owned.size - share).map((owned) => this.release(owned.partition)));
      return;
    }
    // Start at a random partition so engines starting together do not all race for p0.
    const start = Math.floor(Math.random() * this.settings.partitions);
    for (let i = 0; i < this.settings.partitions && this.owned.size < share; i++) {
      const partition = (start + i) % this.settings.partitions;
      if (this.owned.has(partition) || this.stopped || this.generation !== generation) continue;
      if (await this.claim(generation, partition)) await this.startConsuming(generation, partition);
    }
  }

  private async openGeneration(model: ChannelModel): Promise<Generation> {
    const channel = await model.createConfirmChannel();
    const generation: Generation = { model, channel, abort: new AbortController(), acks: new AckBatcher(channel) };
    channel.on('error', (err: unknown) => log.warn({ destination: this.settings.destination, err: reasonOf(err) }, 'rabbitmq: consumer channel error'));
    channel.on('close', () => this.lose(generation));
    await channel.prefetch(this.settings.prefetch, false);
    await declareMembers(channel, this.settings.names);
    await channel.consume(this.settings.names.members, () => undefined, { noAck: true });
    this.generation = generation;
    return generation;
  }

  private lose(generation: Generation): void {
    if (this.generation === generation) this.generation = undefined;
    generation.abort.abort();
    generation.acks.discard();
    for (const [partition, owned] of this.owned) if (owned.generation === generation) this.owned.delete(partition);
  }

  /** Declare the partition's lock queue; the broker refuses (405) while another connection has it. */
  private async claim(generation: Generation, partition: number): Promise<boolean> {
    const probe = await generation.model.createChannel();
    probe.on('error', () => undefined);
    try {
      await probe.assertQueue(this.settings.names.partitionLock(partition), { exclusive: true, durable: false });
      this.heldLocks.add(partition);
      return true;
    } catch {
      return false;
    } finally {
      await probe.close().catch(() => undefined);
    }
  }

  private async startConsuming(generation: Generation, partition: number): Promise<void> {
    const owned: OwnedPartition = { partition, generation, inFlight: 0 };
    this.owned.set(partition, owned);
    try {
      await this.waitForPreviousOwner(generation, partition);
      const { consumerTag } = await generation.channel.consume(this.settings.names.partitionQueue(partition), (msg) => this.receive(owned, msg), { noAck: false });
      owned.consumerTag = consumerTag;
      log.debug({ destination: this.settings.destination, partition }, 'rabbitmq: partition claimed');
    } catch (err) {
      this.owned.delete(partition);
      throw err;
    }
  }

  /**
   * The lock goes as soon as the previous owner's connection does, but the quorum queue learns
   * that its consumer is gone (and hands back its unacked messages, at the front) a moment later.
   * Consuming before that would let newer messages overtake the returned ones.
   */
  private async waitForPreviousOwner(generation: Generation, partition: number): Promise<void> {
    const queue = this.settings.names.partitionQueue(partition);
    const deadline = Date.now() + PREVIOUS_OWNER_TIMEOUT_MS;
    while ((await generation.channel.checkQueue(queue)).consumerCount > 0) {
      if (Date.now() > deadline || generation.abort.signal.aborted) {
        log.warn({ destination: this.settings.destination, partition }, 'rabbitmq: previous consumer still registered; consuming anyway');
        return;
      }
      await sleep(25, generation.abort.signal);
    }
  }

  /**
   * Stop taking deliveries, finish and ack every one already here (none may go back to the
   * queue: see close()), then give the lock back.
   */
  private async release(partition: number): Promise<void> {
    const owned = this.owned.get(partition);
    if (!owned?.consumerTag) return;
    const { channel } = owned.generation;
    await channel.cancel(owned.consumerTag);
    if (owned.inFlight > 0) await new Promise<void>((resolve) => (owned.onDrained = resolve));
    // Acks go out before the lock is given back (same channel: the broker takes them in order).
    owned.generation.acks.flush();
    this.owned.delete(partition);
    await this.dropLock(owned.generation, partition);
    log.debug({ destination: this.settings.destination, partition }, 'rabbitmq: partition released');
  }

  private async dropLock(generation: Generation, partition: number): Promise<void> {
    await generation.channel.deleteQueue(this.settings.names.partitionLock(partition));
    this.heldLocks.delete(partition);
  }

  private receive(owned: OwnedPartition, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled us (queue deleted): forget the partition; rebalance reclaims it.
      if (this.owned.get(owned.partition) === owned) this.owned.delete(owned.partition);
      return;
    }
    owned.generation.acks.received(msg);
    let decoded: DecodedMessage;
    try {
      decoded = decodeMessage(msg);
    } catch (err) {
      // Not ours to deliver: the queue's dead-letter exchange takes it (x-death reason "rejected").
      log.warn({ destination: this.settings.destination, err: reasonOf(err) }, 'rabbitmq: malformed message dead-lettered');
      owned.generation.acks.reject(msg);
      return;
    }
    owned.inFlight++;
    const key = decoded.envelope.partitionKey;
    const previous = this.keyTails.get(key) ?? Promise.resolve();
    const tail = previous.then(() => this.deliver(owned.generation, msg, decoded));
    this.keyTails.set(key, tail);
    this.inFlight.add(tail);
    void tail.finally(() => {
      this.inFlight.delete(tail);
      if (this.keyTails.get(key) === tail) this.keyTails.delete(key);
      owned.inFlight--;
      if (owned.inFlight === 0) owned.onDrained?.();
    });
  }

  /** Never rejects: every failure either settles the message or leaves it to be redelivered. */
  private async deliver(generation: Generation, msg: ConsumeMessage, decoded: DecodedMessage): Promise<void> {
    const { envelope } = decoded;
    let attempt = decoded.attempt;
    for (;;) {
      // Connection lost or closing: the broker redelivers this message, in order, later.
      if (generation.abort.signal.aborted) return;
      let outcome: DeliveryOutcome;
      try {
        // A slot per handler call, not per message: a message waiting to retry holds none.
        outcome = await this.slots.run(() => this.handler({ envelope, destination: this.settings.destination, attempt }));
      } catch (err) {
        outcome = { kind: 'retry', delayMs: fallbackDelay(attempt), reason: reasonOf(err) };
      }
      switch (outcome.kind) {
        case 'done':
          generation.acks.ack(msg);
          return;
        case 'dead-letter':
          await this.deadLetter(generation, msg, envelope, outcome.reason, attempt);
          return;
        case 'retry':
          if (this.settings.retryMode === 'delay-queue') {
            await this.park(generation, msg, envelope, outcome.delayMs, attempt + 1);
            return;
          }
          log.debug({ destination: this.settings.destination, messageId: envelope.messageId, attempt }, 'rabbitmq: retrying in place');
          this.retrying++;
          try {
            await sleep(Math.max(0, Math.min(outcome.delayMs, this.settings.maxRetryDelayMs)), generation.abort.signal);
          } finally {
            this.retrying--;
          }
          attempt++;
          break;
        default: {
          const unknownOutcome: never = outcome;
          throw new Error(`unknown delivery outcome ${JSON.stringify(unknownOutcome)}`);
        }
      }
    }
  }

  /** Delay-queue retry: a confirmed copy with the next attempt number goes to the delay queue, then ack. */
  private async park(generation: Generation, msg: ConsumeMessage, envelope: Envelope, delayMs: number, nextAttempt: number): Promise<void> {
    const queue = this.settings.names.delayQueue(delayLevelFor(delayMs, this.settings.retryDelayLevelsMs));
    const encoded = encodeEnvelope(envelope, this.settings.partitions, nextAttempt);
    if (await this.publishConfirmed(generation, '', queue, encoded, envelope.messageId)) generation.acks.ack(msg);
  }

  private async publishConfirmed(generation: Generation, exchange: string, routingKey: string, encoded: EncodedMessage, messageId: string): Promise<boolean> {
    try {
      await new Promise<void>((resolve, reject) => {
        generation.channel.publish(exchange, routingKey, encoded.content, encoded.options, (err: unknown) => (err ? reject(err) : resolve()));
      });
      return true;
    } catch (err) {
      // Channel gone before the confirm: the original is redelivered and decided again.
      log.warn({ destination: this.settings.destination, messageId, err: reasonOf(err) }, 'rabbitmq: publish from consumer not confirmed');
      return false;
    }
  }

  /** Publish to the dead-letter exchange on this channel, wait for the confirm, then ack. */
  private async deadLetter(generation: Generation, msg: ConsumeMessage, envelope: Envelope, reason: string, attempts: number): Promise<void> {
    const encoded = encodeEnvelope(envelope, this.settings.partitions, 1, {
      [HEADER.reason]: reason,
      [HEADER.attempts]: attempts,
      [HEADER.deadLetteredAt]: Date.now(),
    });
    if (!(await this.publishConfirmed(generation, this.settings.names.deadLetterExchange, '', encoded, envelope.messageId))) return;
    log.info({ destination: this.settings.destination, messageId: envelope.messageId, attempts }, 'rabbitmq: dead-lettered');
    generation.acks.ack(msg);
  }
}
