// Broker topology (see docs/rabbitmq.md). Every name starts with a prefix so several engines or
// test runs can share a vhost. Declarations are idempotent; changing a queue's arguments for an
// existing queue makes the broker refuse (406) and is reported as a start error.
import type { Channel } from 'amqplib';
import { HEADER } from './rabbitmq-codec.js';
import type { Subscription } from '../../core/queue.js';

export interface TopologySettings {
  prefix: string;
  partitions: number;
  /** Deliveries without an ack (crashes, lost connections) before the broker dead-letters. */
  deliveryLimit: number;
  /** TTL of each delay queue (delay-queue retry mode), ascending. */
  retryDelayLevelsMs: number[];
}

export interface DestinationNames {
  /** Headers exchange of the destination: bound to the inbound exchange, routes by partition. */
  exchange: string;
  partitionQueue(partition: number): string;
  /** Exclusive queue whose existence means "this connection owns the partition". */
  partitionLock(partition: number): string;
  /** Each consuming engine holds one consumer here: the consumer count is the engine count. */
  members: string;
  deadLetterExchange: string;
  deadLetterQueue: string;
  /** Delay queue with a fixed TTL; expired messages dead-letter back to `exchange`. */
  delayQueue(ttlMs: number): string;
}

export function inboundExchange(prefix: string): string {
  return `${prefix}.inbound`;
}

export function destinationNames(prefix: string, destination: string): DestinationNames {
  const base = `${prefix}.d.${destination}`;
  return {
    exchange: base,
    partitionQueue: (p) => `${base}.p${p}`,
    partitionLock: (p) => `${base}.p${p}.lock`,
    members: `${base}.members`,
    deadLetterExchange: `${base}.dlx`,
    deadLetterQueue: `${base}.dlq`,
    delayQueue: (ttlMs) => `${base}.delay.${ttlMs}ms`,
  };
}

export async function declareTopology(channel: Channel, settings: TopologySettings, subscriptions: Subscription[]): Promise<void> {
  const inbound = inboundExchange(settings.prefix);
  await channel.assertExchange(inbound, 'topic', { durable: true });
  for (const subscription of subscriptions) {
    const names = destinationNames(settings.prefix, subscription.destination);
    await channel.assertExchange(names.exchange, 'headers', { durable: true });
    for (const pattern of subscription.bindings) await channel.bindExchange(names.exchange, inbound, pattern);

    await channel.assertExchange(names.deadLetterExchange, 'fanout', { durable: true });
    // Classic, not quorum: on 3.10 a quorum queue puts a requeued basic.get message at the back,
    // which would reorder the dead letters every time someone lists them.
    await channel.assertQueue(names.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'classic', 'x-queue-mode': 'lazy' } });
    await channel.bindQueue(names.deadLetterQueue, names.deadLetterExchange, '');

    for (let p = 0; p < settings.partitions; p++) {
      const queue = names.partitionQueue(p);
      await channel.assertQueue(queue, {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-single-active-consumer': true,
          'x-delivery-limit': settings.deliveryLimit,
          'x-dead-letter-exchange': names.deadLetterExchange,
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      });
      await channel.bindQueue(queue, names.exchange, '', { 'x-match': 'all', [HEADER.partition]: String(p) });
    }

    // One queue per delay level, each with a single TTL, so expiry order is arrival order and a
    // long delay never holds up a short one (per-message TTLs in one queue would).
    for (const ttl of settings.retryDelayLevelsMs) {
      await channel.assertQueue(names.delayQueue(ttl), {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-message-ttl': ttl,
          'x-dead-letter-exchange': names.exchange,
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      });
    }
  }
}

/** The shortest level that waits at least `delayMs` (the longest level if none does). */
export function delayLevelFor(delayMs: number, levels: number[]): number {
  return levels.find((level) => level >= delayMs) ?? levels[levels.length - 1];
}

/** Non-durable membership queue; it disappears a minute after the last engine left. */
export async function declareMembers(channel: Channel, names: DestinationNames): Promise<void> {
  await channel.assertQueue(names.members, { durable: false, arguments: { 'x-expires': 60_000 } });
}
