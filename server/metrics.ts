// Prometheus metrics (prom-client) for one engine process: per-channel message counters,
// delivery latency, queue depth (read on scrape) and the default process metrics. Fed by the
// same observers as the audit trail, so the engine itself needs no metric calls.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryQueue, Delivery, DeliveryOutcome, Envelope } from '../core/queue.js';
import type { MessageStoreObserver } from './audit/store-observer.js';

export interface MetricsOptions {
  /** Channel ids and their destination ids, so every series exists (at 0) before traffic. */
  channels?: { id: string; destinations: string[] }[];
  /** Read on each scrape. */
  depth?: (destination: string) => Promise<number>;
  /** Channels that take hospital notices (ADW), and their overdue notices now (read on each scrape). */
  noticeChannels?: string[];
  overdueNotices?: (channel: string) => Promise<number>;
  defaultMetrics?: boolean;
}

type ChannelLabel = 'channel';
type DestinationLabels = 'channel' | 'destination';

export class EngineMetrics {
  readonly registry = new Registry();
  readonly received: Counter<ChannelLabel>;
  readonly rejected: Counter<ChannelLabel>;
  readonly duplicates: Counter<ChannelLabel>;
  readonly filtered: Counter<DestinationLabels>;
  readonly queued: Counter<ChannelLabel>;
  readonly sent: Counter<DestinationLabels>;
  readonly errored: Counter<DestinationLabels>;
  readonly deadLettered: Counter<DestinationLabels>;
  readonly latency: Histogram<DestinationLabels>;
  readonly queueDepth: Gauge<'destination'>;
  readonly noticesOverdue: Gauge<ChannelLabel>;
  readonly connectionsRefused: Counter<ChannelLabel>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers });
    this.received = counter('tramline_messages_received_total', 'Messages stored by a channel (accepted, filtered or rejected; not duplicates)', ['channel']);
    this.rejected = counter('tramline_messages_rejected_total', 'Messages rejected at intake (unparseable, oversize)', ['channel']);
    this.duplicates = counter('tramline_messages_duplicate_total', 'Duplicate sends recognised and not delivered again', ['channel']);
    this.filtered = counter('tramline_messages_filtered_total', 'Messages filtered out by a channel (destination "") or a destination', ['channel', 'destination']);
    this.queued = counter('tramline_messages_queued_total', 'Messages handed to the delivery queue (including reprocessing and backlog)', ['channel']);
    this.sent = counter('tramline_messages_sent_total', 'Deliveries that succeeded', ['channel', 'destination']);
    this.errored = counter('tramline_messages_errored_total', 'Delivery attempts that failed and will be retried', ['channel', 'destination']);
    this.deadLettered = counter('tramline_messages_dead_lettered_total', 'Deliveries given up and dead-lettered', ['channel', 'destination']);
    this.connectionsRefused = counter('tramline_mllp_connections_refused_total', 'MLLP connections closed because the listener had maxConnections open', ['channel']);
    this.latency = new Histogram({
      name: 'tramline_delivery_latency_seconds',
      help: 'Time from receipt to successful delivery',
      labelNames: ['channel', 'destination'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    const depth = options.depth;
    const destinations = (options.channels ?? []).flatMap((c) => c.destinations);
    this.queueDepth = new Gauge({
      name: 'tramline_queue_depth',
      help: 'Messages waiting (or retrying) per destination',
      labelNames: ['destination'],
      registers,
      async collect() {
        if (!depth) return;
        for (const d of destinations) {
          const n = await depth(d).catch(() => undefined);
          if (n !== undefined) this.set({ destination: d }, n);
        }
      },
    });
    const overdue = options.overdueNotices;
    const noticeChannels = options.noticeChannels ?? [];
    this.noticesOverdue = new Gauge({
      name: 'tramline_notices_overdue',
      help: 'Hospital notices (ADW) awaiting an answer past their due time, per channel',
      labelNames: ['channel'],
      registers,
      async collect() {
        if (!overdue) return;
        for (const c of noticeChannels) {
          const n = await overdue(c).catch(() => undefined);
          if (n !== undefined) this.set({ channel: c }, n);
        }
      },
    });
    for (const c of options.channels ?? []) {
      for (const m of [this.received, this.rejected, this.duplicates, this.queued, this.connectionsRefused]) m.inc({ channel: c.id }, 0);
      this.filtered.inc({ channel: c.id, destination: '' }, 0);
      for (const d of c.destinations) for (const m of [this.filtered, this.sent, this.errored, this.deadLettered]) m.inc({ channel: c.id, destination: d }, 0);
    }
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tramline_' });
  }

  /** Intake side, from the message store's writes. */
  storeObserver(): MessageStoreObserver {
    return {
      received: (message, result) => {
        const channel = message.channel;
        if (result.duplicate) return this.duplicates.inc({ channel });
        this.received.inc({ channel });
        if (message.status === 'rejected') this.rejected.inc({ channel });
        if (message.status === 'filtered') this.filtered.inc({ channel, destination: '' });
      },
    };
  }

  /** Delivery side: pass as the engine's `onOutcome`. */
  readonly onOutcome = (delivery: Delivery, outcome: DeliveryOutcome | { kind: 'filtered' }): void => {
    const labels = { channel: delivery.envelope.channel, destination: delivery.destination };
    switch (outcome.kind) {
      case 'filtered':
        this.filtered.inc(labels);
        break;
      case 'done': {
        this.sent.inc(labels);
        const received = Date.parse(delivery.envelope.headers.receivedAt ?? '');
        if (Number.isFinite(received)) this.latency.observe(labels, Math.max(0, Date.now() - received) / 1000);
        break;
      }
      case 'retry':
        this.errored.inc(labels);
        break;
      case 'dead-letter':
        this.deadLettered.inc(labels);
        break;
    }
  };

  onPublished(envelopes: Envelope[]): void {
    for (const e of envelopes) this.queued.inc({ channel: e.channel });
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A DeliveryQueue that reports each durable publish to `onPublished`. */
export function observeQueue(queue: DeliveryQueue, onPublished: (envelopes: Envelope[]) => void): DeliveryQueue {
  return new Proxy(queue, {
    get(target, prop, receiver) {
      if (prop === 'publish') {
        return async (envelopes: Envelope[]) => {
          await target.publish(envelopes);
          onPublished(envelopes);
        };
      }
      if (prop === 'publishWithReceive') {
        const publish = target.publishWithReceive;
        return (
          publish &&
          (async (envelopes: Envelope[]) => {
            const queued = await publish(envelopes);
            onPublished(queued);
            return queued;
          })
        );
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
