// Intake for whole messages with transport metadata (core/inbound.ts; the MESH folder source):
// store raw (durable, duplicate key sender + controlId) → route → queue. No parsing or mapping
// here: the channel stores what arrived and routes it by its transport's words. A transport
// report is stored with its outcome and never routed.
import { reasonOf } from '../core/errors.js';
import type { InboundIntake, InboundMessage, InboundResult } from '../core/inbound.js';
import { log } from '../core/logger.js';
import type { DeliveryQueue, Envelope } from '../core/queue.js';
import type { MessageRecord, MessageStore } from '../core/store.js';
import type { ChannelDefinition } from './definition.js';
import { destinationsFor, partitionKeyOf } from './routing.js';

/** Routing-key words may not contain dots or be empty. */
const word = (s: string): string => s.replace(/[.\s#*]/g, '_') || '_';

/** Message types this intake stores: `MESH^<WorkflowId>` and `MESH-REPORT`. */
export function isInboundMessageType(messageType: string | undefined): boolean {
  return messageType !== undefined && (messageType.startsWith('MESH^') || messageType === 'MESH-REPORT');
}

export interface MessageIntakeStats {
  received: number;
  duplicates: number;
  reports: number;
  queued: number;
  backlogged: number;
}

export interface MessageIntakeOptions {
  channel: ChannelDefinition;
  store: MessageStore;
  queue: DeliveryQueue;
  queueAvailable?: () => boolean;
}

/** The envelope of a stored inbound message (also rebuilt by the backlog from the store). */
export function inboundEnvelope(channel: string, messageId: string, routing: readonly string[], body: Buffer, headers: Record<string, string>, partitionKey: string): Envelope {
  return {
    messageId,
    channel,
    routingKey: [channel, ...routing.map(word)].join('.'),
    partitionKey,
    body: body.toString('utf8'),
    headers,
  };
}

/**
 * The envelope of a stored MESH message rebuilt from what the store keeps (sender, type, id):
 * enough to route it and reply to its mailbox; the control file's subject and DTSId are not
 * carried when a message is queued again.
 */
export function storedInboundEnvelope(m: MessageRecord, raw: Buffer, partitionKey: string): Envelope {
  const workflowId = (m.messageType ?? '').slice('MESH^'.length);
  const sender = m.sender ?? '';
  const headers = { kind: 'mesh', meshFrom: sender, meshWorkflowId: workflowId, meshLocalId: m.controlId ?? '' };
  return inboundEnvelope(m.channel, m.id, ['mesh', workflowId, sender], raw, headers, partitionKey);
}

export class MessageIntake implements InboundIntake {
  readonly stats: MessageIntakeStats = { received: 0, duplicates: 0, reports: 0, queued: 0, backlogged: 0 };

  constructor(private readonly opts: MessageIntakeOptions) {}

  async accept(message: InboundMessage): Promise<InboundResult> {
    const channel = this.opts.channel.id;
    const report = message.report;
    // Throws when it cannot be stored: the source keeps the message and offers it again.
    const stored = await this.opts.store.receive({
      channel,
      receivedAt: new Date(),
      sender: message.sender,
      controlId: message.controlId,
      messageType: message.messageType,
      // A report is stored with its outcome, never routed: errored (a transfer failed) or filtered.
      status: report ? (report.error ? 'errored' : 'filtered') : 'received',
      ...(report?.error ? { error: report.error } : {}),
      raw: message.body,
    });
    this.stats.received++;
    if (stored.duplicate) {
      this.stats.duplicates++;
      log.info({ channel, messageId: stored.id }, 'duplicate message, not routed again');
      return stored;
    }
    if (report) {
      this.stats.reports++;
      if (report.error) log.warn({ channel, messageId: stored.id }, 'MESH delivery report of a failed transfer stored');
      return stored;
    }
    const envelope = inboundEnvelope(channel, stored.id, message.routing, message.body, message.headers, partitionKeyOf(this.opts.store, stored.id, undefined));
    try {
      if (!(this.opts.queueAvailable?.() ?? true)) throw new Error('queue unavailable');
      await this.opts.queue.publish([envelope]);
      await this.opts.store.setStatus(stored.id, 'queued', undefined, { destinations: destinationsFor(this.opts.channel, envelope.routingKey) }).catch((err: unknown) =>
        log.warn({ channel, messageId: stored.id, reason: reasonOf(err) }, 'status not recorded'),
      );
      this.stats.queued++;
    } catch (err) {
      // Stored, not queued: the backlog queues it when the queue is back.
      this.stats.backlogged++;
      log.warn({ channel, messageId: stored.id, reason: reasonOf(err) }, 'stored; queued later');
    }
    return stored;
  }
}
