// Reading and replaying a destination's dead-letter queue (a classic queue, where a requeued
// message goes back to its original position). Messages are taken with basic.get, left unacked
// while we look, then handed back in the order they were taken, so listing never loses or
// reorders anything.
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import { decodeMessage, DELIVERY_COUNT, encodeEnvelope, HEADER, headerNumber, headerText, MalformedMessageError } from './rabbitmq-codec.js';
import type { DestinationNames } from './rabbitmq-topology.js';
import type { DeadLetter, Envelope } from '../../core/queue.js';

interface XDeath {
  reason?: unknown;
  time?: unknown;
}

function brokerDeath(headers: Record<string, unknown>): XDeath | undefined {
  const deaths = headers['x-death'];
  return Array.isArray(deaths) && deaths.length > 0 ? (deaths[0] as XDeath) : undefined;
}

function timestampOf(value: unknown): Date | undefined {
  // amqplib decodes AMQP timestamps as seconds; our own header is milliseconds.
  if (typeof value === 'number') return new Date(value);
  if (value && typeof value === 'object' && 'value' in value && typeof value.value === 'number') return new Date(value.value * 1000);
  return undefined;
}

/** Messages that are not Tramline envelopes are still listed (so someone sees them) but never replayed. */
function envelopeOf(msg: GetMessage): Envelope | undefined {
  const headers = msg.properties.headers ?? {};
  try {
    return decodeMessage({ ...msg, properties: { ...msg.properties, headers: { ...headers, [DELIVERY_COUNT]: 0 } } }).envelope;
  } catch (err) {
    if (err instanceof MalformedMessageError) return undefined;
    throw err;
  }
}

export function toDeadLetter(msg: GetMessage, destination: string): DeadLetter {
  const headers = msg.properties.headers ?? {};
  const envelope = envelopeOf(msg) ?? {
    messageId: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : '',
    channel: '',
    routingKey: msg.fields.routingKey,
    partitionKey: '',
    body: msg.content.toString('utf8'),
    headers: { malformed: 'not a Tramline envelope; cannot be replayed' },
  };
  const death = brokerDeath(headers);
  const reason = headerText(headers, HEADER.reason) ?? (death ? `broker dead-lettered: ${String(death.reason)}` : 'unknown');
  const attempts = headerNumber(headers, HEADER.attempts) ?? headerNumber(headers, DELIVERY_COUNT) ?? 0;
  const at = headerNumber(headers, HEADER.deadLetteredAt);
  const deadLetteredAt = at !== undefined ? new Date(at) : (timestampOf(death?.time) ?? new Date(0));
  return { envelope, destination, reason, attempts, deadLetteredAt };
}

export async function listDeadLetters(model: ChannelModel, names: DestinationNames, destination: string, limit: number): Promise<DeadLetter[]> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  const result: DeadLetter[] = [];
  const held: GetMessage[] = [];
  try {
    while (result.length < limit) {
      const msg = await channel.get(names.deadLetterQueue, { noAck: false });
      if (!msg) break;
      held.push(msg);
      result.push(toDeadLetter(msg, destination));
    }
    return result;
  } finally {
    await handBack(channel, held);
  }
}

async function handBack(channel: Channel, held: GetMessage[]): Promise<void> {
  try {
    for (const msg of held) channel.nack(msg, false, true);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/**
 * Publish matching dead letters to the destination's own exchange (not the inbound exchange, which
 * would deliver them to every other destination again) with the same messageId and attempt 1,
 * ack each after its confirm, and hand the others back untouched.
 */
export async function replayDeadLetters(
  model: ChannelModel,
  names: DestinationNames,
  partitions: number,
  messageIds?: string[],
): Promise<number> {
  const wanted = messageIds ? new Set(messageIds) : undefined;
  const channel = await model.createConfirmChannel();
  channel.on('error', () => undefined);
  let replayed = 0;
  const kept: GetMessage[] = [];
  try {
    // Only what was there when we started: replayed messages never come back here by themselves.
    const { messageCount } = await channel.checkQueue(names.deadLetterQueue);
    let batch: GetMessage[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await channel.waitForConfirms();
      for (const msg of batch) channel.ack(msg);
      replayed += batch.length;
      batch = [];
    };
    for (let seen = 0; seen < messageCount; seen++) {
      const msg = await channel.get(names.deadLetterQueue, { noAck: false });
      if (!msg) break;
      const messageId = msg.properties.messageId as string | undefined;
      if (wanted && (!messageId || !wanted.has(messageId))) {
        kept.push(msg);
        continue;
      }
      const envelope = envelopeOf(msg);
      if (!envelope) {
        kept.push(msg);
        continue;
      }
      const encoded = encodeEnvelope(envelope, partitions, 1);
      channel.publish(names.exchange, '', encoded.content, encoded.options);
      batch.push(msg);
      if (batch.length >= 256) await flush();
    }
    await flush();
    return replayed;
  } finally {
    await handBack(channel, kept);
  }
}

/** Remove the dead letters with the given message ids (an operator gave up on them); others stay in place. */
export async function discardDeadLetters(model: ChannelModel, names: DestinationNames, messageIds: string[]): Promise<number> {
  const wanted = new Set(messageIds);
  if (wanted.size === 0) return 0;
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  const kept: GetMessage[] = [];
  let discarded = 0;
  try {
    const { messageCount } = await channel.checkQueue(names.deadLetterQueue);
    for (let seen = 0; seen < messageCount; seen++) {
      const msg = await channel.get(names.deadLetterQueue, { noAck: false });
      if (!msg) break;
      const messageId = msg.properties.messageId as string | undefined;
      if (messageId && wanted.has(messageId)) {
        channel.ack(msg);
        discarded++;
      } else kept.push(msg);
    }
    return discarded;
  } finally {
    await handBack(channel, kept);
  }
}
