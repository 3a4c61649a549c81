// Puts the audit trail and metrics between the engine and its store and queue: the engine is
// handed observed versions of both and an onOutcome callback, and is otherwise unchanged.
import { destinationId, type ChannelDefinition } from '../../channels/definition.js';
import type { DeliveryQueue } from '../../core/queue.js';
import { SqlNoticeStore } from '../../adapters/store/notice-store.js';
import { EngineMetrics, observeQueue } from '../metrics.js';
import type { OpenedStore } from '../open-store.js';
import type { MessageStore } from '../../core/store.js';
import type { AckEvent } from '../../channels/hl7-intake.js';
import { ENGINE_ACTOR, messageAuditObserver } from './message-audit.js';
import { observeStore } from './store-observer.js';
import { AuditTrail } from './trail.js';

export interface Instrumented {
  audit: AuditTrail;
  /** The engine's HL7 ACK hook: each acknowledgement sent becomes a `message.acked` entry. */
  onAck: (ack: AckEvent) => void;
  metrics: EngineMetrics;
  store: MessageStore;
  queue: DeliveryQueue;
}

export function instrumentEngine(opened: OpenedStore, queue: DeliveryQueue, channels: ChannelDefinition[]): Instrumented {
  const audit = new AuditTrail(opened.db, opened.audit);
  const notices = new SqlNoticeStore(opened.db, opened.keys);
  const metrics = new EngineMetrics({
    channels: channels.filter((c) => c.enabled).map((c) => ({ id: c.id, destinations: c.destinations.map((d) => destinationId(c.id, d.name)) })),
    depth: (d) => queue.depth(d),
    noticeChannels: channels.filter((c) => c.enabled && c.notices).map((c) => c.id),
    overdueNotices: async (channel) => (await notices.countAwaiting({ channel })).overdue,
  });
  return {
    audit,
    onAck: (ack) =>
      void audit
        .record({ category: 'message', actor: ENGINE_ACTOR, action: 'message.acked', outcome: /^[AC]A$/.test(ack.code) || ack.code === 'none' ? 'success' : 'failure', messageId: ack.messageId, target: ack.channel, detail: { code: ack.code } })
        .catch(() => undefined),
    metrics,
    store: observeStore(opened.store, [messageAuditObserver(audit), metrics.storeObserver()]),
    queue: observeQueue(queue, (envelopes) => metrics.onPublished(envelopes)),
  };
}
