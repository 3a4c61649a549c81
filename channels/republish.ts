// Rebuilding the envelope of a stored message, for everything that queues a message again:
// the backlog (stored but never queued), reprocessing from the CLI or the API. HL7 v2 is
// parsed (and mapped, when the channel maps) afresh from the raw content, so a fixed mapping
// applies; record messages carry their transformed content (a bundle or a retraction).
import { decodeHl7Bytes } from '../adapters/hl7v2/charset.js';
import { parseHl7 } from '../adapters/hl7v2/parse.js';
import type { MessageStore } from '../core/store.js';
import type { MessageRecord } from '../core/store.js';
import type { ChannelDefinition } from './definition.js';
import { hl7Envelope } from './hl7-intake.js';
import type { Envelope } from '../core/queue.js';
import { isInboundMessageType, storedInboundEnvelope } from './message-intake.js';
import { isAdwMessageType, storedAdwEnvelope } from './notice-envelopes.js';
import { recordEnvelope, RECORD_MESSAGE_TYPES } from './record-intake.js';
import { hl7PatientKey, partitionKeyOf } from './routing.js';

export class ContentGoneError extends Error {}

export async function envelopeForStored(store: MessageStore, channel: ChannelDefinition | undefined, m: MessageRecord): Promise<Envelope> {
  if (m.messageType && (RECORD_MESSAGE_TYPES as readonly string[]).includes(m.messageType)) {
    const content = await store.readContent(m.id, 'transformed');
    if (!content) throw new ContentGoneError('content no longer stored (pruned)');
    return recordEnvelope(m.channel, m.id, m.messageType === 'retraction' ? 'retraction' : 'bundle', content.toString('utf8'), partitionKeyOf(store, m.id, m.patientKey));
  }
  const raw = await store.readContent(m.id, 'raw');
  if (!raw) throw new ContentGoneError('content no longer stored (pruned)');
  if (isInboundMessageType(m.messageType)) return storedInboundEnvelope(m, raw, partitionKeyOf(store, m.id, undefined));
  if (isAdwMessageType(m.messageType)) return storedAdwEnvelope(store, channel, m, raw);
  // As the intake decoded it (a fallback charset applies again); should the bytes no longer
  // decode under the channel's settings, that is a ParseError, never silent U+FFFD.
  const source = channel?.source;
  const text = decodeHl7Bytes(raw, { strict: true, fallback: source?.type === 'mllp' ? source.charset : undefined }).text;
  const msg = parseHl7(text);
  return hl7Envelope(m.channel, m.id, text, msg, m.receivedAt, channel?.pipeline?.map, partitionKeyOf(store, m.id, hl7PatientKey(msg)));
}
