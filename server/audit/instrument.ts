// Puts the audit trail and metrics between the engine and its store and queue: the engine is
// handed observed versions of both and an onOutcome callback, and is otherwise unchanged.
import { destinationId, type ChannelDefinition } from '../../channels/definition.js';
import type { DeliveryQueue } from '../../channels/queue/types.js';
import { EngineMetrics, observeQueue } from '../metrics.js';
import type { OpenedStore } from '../store/open-store.js';
import type { MessageStore } from '../store/message-store.js';
import { messageAuditObserver } from './message-audit.js';
import { observeStore } from './store-observer.js';
import { AuditTrail } from './trail.js';

export interface Instrumented {
  audit: AuditTrail;
  metrics: EngineMetrics;
  store: MessageStore;
  queue: DeliveryQueue;
}

export function instrumentEngine(opened: OpenedStore, queue: DeliveryQueue, channels: ChannelDefinition[]): Instrumented {
  const audit = new AuditTrail(opened.db);
  const metrics = new EngineMetrics({
    channels: channels.filter((c) => c.enabled).map((c) => ({ id: c.id, destinations: c.destinations.map((d) => destinationId(c.id, d.name)) })),
    depth: (d) => queue.depth(d),
  });
  return {
    audit,
    metrics,
    store: observeStore(opened.store, [messageAuditObserver(audit), metrics.storeObserver()]),
    queue: observeQueue(queue, (envelopes) => metrics.onPublished(envelopes)),
  };
}
