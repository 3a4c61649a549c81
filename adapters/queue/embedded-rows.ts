// Row <-> envelope for the embedded queue. The envelope body and headers are sealed like message
// content (they carry the transformed message); routing metadata stays readable for operators.
import type { Insertable, Selectable } from 'kysely';
import { open, seal, type ContentKeyRing } from '../store/crypto.js';
import type { QueueItemsTable } from '../store/schema.js';
import type { Envelope } from '../../core/queue.js';

export type QueueItemRow = Selectable<QueueItemsTable>;

/** Bound into the ciphertext so a payload only opens for its own message and destination. */
function payloadAad(messageId: string, destination: string): string {
  return `envelope:${messageId}:${destination}`;
}

export function toQueueItem(keys: ContentKeyRing, envelope: Envelope, destination: string, now: number): Omit<Insertable<QueueItemsTable>, 'head'> {
  const payload = Buffer.from(JSON.stringify({ body: envelope.body, headers: envelope.headers }), 'utf8');
  const sealed = seal(keys, payload, payloadAad(envelope.messageId, destination));
  return {
    destination,
    message_id: envelope.messageId,
    channel: envelope.channel,
    routing_key: envelope.routingKey,
    partition_key: envelope.partitionKey,
    key_id: sealed.keyId,
    iv: sealed.iv,
    tag: sealed.tag,
    ciphertext: sealed.ciphertext,
    attempt: 1,
    available_at: now,
    enqueued_at: now,
  };
}

/** Columns shared by queue items and dead letters. */
export interface SealedEnvelopeColumns {
  destination: string;
  message_id: string;
  channel: string;
  routing_key: string;
  partition_key: string;
  key_id: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export function toEnvelope(keys: ContentKeyRing, row: SealedEnvelopeColumns): Envelope {
  const payload = open(keys, { keyId: row.key_id, iv: row.iv, tag: row.tag, ciphertext: row.ciphertext }, payloadAad(row.message_id, row.destination));
  const { body, headers } = JSON.parse(payload.toString('utf8')) as { body: string; headers: Record<string, string> };
  return { messageId: row.message_id, channel: row.channel, routingKey: row.routing_key, partitionKey: row.partition_key, body, headers };
}

export function sealedColumnsOf(row: SealedEnvelopeColumns): SealedEnvelopeColumns {
  const { destination, message_id, channel, routing_key, partition_key, key_id, iv, tag, ciphertext } = row;
  return { destination, message_id, channel, routing_key, partition_key, key_id, iv, tag, ciphertext };
}
