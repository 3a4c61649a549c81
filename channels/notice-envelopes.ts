// The envelopes of ADW notices and of the council's answers, built the same way on first
// routing and when the backlog or a reprocess queues a stored one again.
//
// A notice goes to `<channel>.adw.<type>[.<withdraws>]` with the notice read from it as JSON
// (`NoticeEnvelopeBody`); an answer or infrastructure rejection goes to
// `<channel>.adw-out.<transport>.<kind>.<type>` as the ADW message itself: over `mesh` addressed
// (headers) to the sender's MESH mailbox with the workflow the channel names for it; `http` for a
// notice that came over HTTP, which has no mailbox (a destination of the channel's choosing).
import { extractNotice, type Notice } from '../adapters/adw/notice.js';
import { parseAdw, STORED_ADW_LIMITS, type AdwFormat } from '../adapters/adw/parse.js';
import type { Envelope } from '../core/queue.js';
import type { MessageRecord, MessageStore } from '../core/store.js';
import type { ChannelDefinition } from './definition.js';
import { partitionKeyOf } from './routing.js';

/** Message type of a stored notice: `ADW^<event code>`; a rejected message is `ADW^rejected`. */
export const ADW_TYPE_PREFIX = 'ADW^';
/** Message type of a stored answer: `ADW-OUT^<kind>^<notice type>`. */
export const ADW_OUT_PREFIX = 'ADW-OUT^';

export type OutKind = 'response' | 'rejection';

/** What a destination (the case inbox) gets for a notice. */
export interface NoticeEnvelopeBody {
  kind: 'adw-notice';
  /** The stored message holding the notice as received (raw), for who needs the whole Bundle. */
  messageId: string;
  format: AdwFormat;
  notice: Notice;
}

const word = (s: string): string => s.replace(/[.\s#*]/g, '_') || '_';

export function noticeRoutingWords(notice: Pick<Notice, 'type' | 'withdrawn'>): string[] {
  return ['adw', notice.type, ...(notice.withdrawn ? [notice.withdrawn] : [])];
}

export function noticeEnvelope(channel: string, messageId: string, format: AdwFormat, notice: Notice, partitionKey: string, replyTo?: string): Envelope {
  const body: NoticeEnvelopeBody = { kind: 'adw-notice', messageId, format, notice };
  return {
    messageId,
    channel,
    routingKey: [channel, ...noticeRoutingWords(notice).map(word)].join('.'),
    partitionKey,
    body: JSON.stringify(body),
    headers: {
      kind: 'adw',
      messageType: `${ADW_TYPE_PREFIX}${notice.event.code}`,
      noticeId: notice.id,
      receivedAt: notice.receivedAt,
      ...(replyTo ? { meshFrom: replyTo } : {}),
    },
  };
}

/** The MESH WorkflowId for an answer of this kind to this notice type (absent: the destination's own). */
export function outWorkflow(channel: ChannelDefinition | undefined, kind: OutKind, type: string): string | undefined {
  const r = channel?.notices?.responses;
  if (!r) return undefined;
  return kind === 'rejection' ? r.rejection : r[type as 'assessment' | 'discharge' | 'withdrawal'];
}

export function outEnvelope(channel: ChannelDefinition | undefined, channelId: string, messageId: string, kind: OutKind, type: string, body: string, partitionKey: string, replyTo?: string, inReplyTo?: string): Envelope {
  const workflow = outWorkflow(channel, kind, type);
  return {
    messageId,
    channel: channelId,
    routingKey: [channelId, 'adw-out', replyTo ? 'mesh' : 'http', kind, word(type)].join('.'),
    partitionKey,
    body,
    headers: {
      kind: 'adw-out',
      messageType: `${ADW_OUT_PREFIX}${kind}^${type}`,
      ...(replyTo ? { meshFrom: replyTo } : {}),
      ...(workflow ? { meshReplyWorkflowId: workflow } : {}),
      ...(inReplyTo ? { inReplyTo } : {}),
    },
  };
}

export function isAdwMessageType(messageType: string | undefined): boolean {
  return messageType !== undefined && (messageType.startsWith(ADW_TYPE_PREFIX) || messageType.startsWith(ADW_OUT_PREFIX));
}

/**
 * The envelope of a stored notice or answer, from its raw content: a notice is read again (its
 * sender mailbox is the stored sender); an answer's mailbox is its stored sender too.
 */
export function storedAdwEnvelope(store: Pick<MessageStore, 'partitionKeyOf'>, channel: ChannelDefinition | undefined, m: MessageRecord, raw: Buffer): Envelope {
  const type = m.messageType ?? '';
  const replyTo = m.sender && m.sender !== 'http' && !m.sender.startsWith('http:') ? m.sender : undefined;
  if (type.startsWith(ADW_OUT_PREFIX)) {
    const [kind, noticeType] = type.slice(ADW_OUT_PREFIX.length).split('^');
    return outEnvelope(channel, m.channel, m.id, kind as OutKind, noticeType ?? 'unknown', raw.toString('utf8'), partitionKeyOf(store, m.id, undefined), replyTo);
  }
  const parsed = parseAdw(raw, STORED_ADW_LIMITS);
  const notice = extractNotice(parsed.bundle, m.receivedAt);
  return noticeEnvelope(m.channel, m.id, parsed.format, notice, partitionKeyOf(store, m.id, m.patientKey), replyTo);
}
