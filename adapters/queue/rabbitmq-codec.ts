// How an Envelope travels as an AMQP message: the body is the content, everything else rides in
// properties and `x-tramline-*` headers so a message can be rebuilt from the broker alone
// (after a retry, a dead-letter or a replay).
import type { Options } from 'amqplib';
import type { Envelope } from '../../core/queue.js';

export const HEADER = {
  channel: 'x-tramline-channel',
  routingKey: 'x-tramline-routing-key',
  partitionKey: 'x-tramline-partition-key',
  /** Partition number as a string: the destination's headers exchange routes on it (a headers
   *  exchange ignores `x-` headers, hence no prefix). */
  partition: 'tramline-partition',
  /** Delivery attempt this message starts at (1, or more after a failover). */
  attempt: 'x-tramline-attempt',
  /** Envelope.headers as JSON (AMQP tables would turn some values into Buffers or numbers). */
  headers: 'x-tramline-headers',
  reason: 'x-tramline-reason',
  attempts: 'x-tramline-attempts',
  deadLetteredAt: 'x-tramline-dead-lettered-at',
} as const;

/** Broker-maintained redelivery count on quorum queues. */
export const DELIVERY_COUNT = 'x-delivery-count';

/** FNV-1a (32 bit): stable across processes and Node versions, so every publisher agrees. */
export function partitionOf(partitionKey: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(partitionKey, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

export interface EncodedMessage {
  content: Buffer;
  options: Options.Publish;
}

export function encodeEnvelope(envelope: Envelope, partitions: number, attempt = 1, extraHeaders: Record<string, unknown> = {}): EncodedMessage {
  return {
    content: Buffer.from(envelope.body, 'utf8'),
    options: {
      persistent: true,
      messageId: envelope.messageId,
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      timestamp: Math.floor(Date.now() / 1000),
      headers: {
        [HEADER.channel]: envelope.channel,
        [HEADER.routingKey]: envelope.routingKey,
        [HEADER.partitionKey]: envelope.partitionKey,
        [HEADER.partition]: String(partitionOf(envelope.partitionKey, partitions)),
        [HEADER.attempt]: attempt,
        [HEADER.headers]: JSON.stringify(envelope.headers),
        ...extraHeaders,
      },
    },
  };
}

/** The parts of a received message the decoder needs (ConsumeMessage and GetMessage both fit). */
export interface ReceivedMessage {
  content: Buffer;
  fields: { routingKey: string };
  properties: { messageId?: string; headers?: Record<string, unknown> };
}

export class MalformedMessageError extends Error {}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

export function headerNumber(headers: Record<string, unknown> | undefined, name: string): number | undefined {
  const raw = headers?.[name];
  const n = typeof raw === 'number' ? raw : typeof raw === 'bigint' ? Number(raw) : Number(text(raw));
  return Number.isFinite(n) ? n : undefined;
}

export function headerText(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  return text(headers?.[name]);
}

export interface DecodedMessage {
  envelope: Envelope;
  /** Attempt number of this delivery, counting redeliveries after a consumer was lost. */
  attempt: number;
}

export function decodeMessage(msg: ReceivedMessage): DecodedMessage {
  const headers = msg.properties.headers ?? {};
  const messageId = msg.properties.messageId;
  const channel = headerText(headers, HEADER.channel);
  const routingKey = headerText(headers, HEADER.routingKey) ?? msg.fields.routingKey;
  const partitionKey = headerText(headers, HEADER.partitionKey);
  if (!messageId || channel === undefined || partitionKey === undefined) {
    throw new MalformedMessageError('not a Tramline envelope (messageId, channel or partition key missing)');
  }
  let envelopeHeaders: Record<string, string> = {};
  const rawHeaders = headerText(headers, HEADER.headers);
  if (rawHeaders) {
    try {
      envelopeHeaders = JSON.parse(rawHeaders) as Record<string, string>;
    } catch {
      throw new MalformedMessageError(`envelope headers of ${messageId} are not JSON`);
    }
  }
  const startAttempt = headerNumber(headers, HEADER.attempt) ?? 1;
  // A quorum queue counts deliveries that ended without an ack (consumer or connection lost):
  // each of those was an attempt the handler may have started.
  const lostDeliveries = headerNumber(headers, DELIVERY_COUNT) ?? 0;
  return {
    envelope: { messageId, channel, routingKey, partitionKey, body: msg.content.toString('utf8'), headers: envelopeHeaders },
    attempt: startAttempt + lostDeliveries,
  };
}
