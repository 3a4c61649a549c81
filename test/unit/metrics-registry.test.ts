// EngineMetrics: the observers turn store writes, publishes and delivery outcomes into the
// per-channel counters and the latency histogram.
import { describe, expect, test } from '@jest/globals';
import type { Delivery, DeliveryQueue, Envelope } from '../../core/queue.js';
import { EngineMetrics, observeQueue } from '../../server/metrics.js';

const envelope = (id: string): Envelope => ({
  messageId: id,
  channel: 'c1',
  routingKey: 'c1.hl7v2.ADT.A01',
  partitionKey: 'p',
  body: 'MSH|...',
  headers: { receivedAt: new Date(Date.now() - 250).toISOString() },
});
const delivery = (id: string): Delivery => ({ envelope: envelope(id), destination: 'c1.d1', attempt: 1 });

async function value(m: EngineMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name)!;
  const hit = metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return hit?.value ?? Number.NaN;
}

describe('engine metrics', () => {
  test('series exist at zero for every channel and destination', async () => {
    const m = new EngineMetrics({ channels: [{ id: 'c1', destinations: ['c1.d1'] }], defaultMetrics: false });
    expect(await value(m, 'tramline_messages_received_total', { channel: 'c1' })).toBe(0);
    expect(await value(m, 'tramline_messages_dead_lettered_total', { channel: 'c1', destination: 'c1.d1' })).toBe(0);
  });

  test('store writes, publishes and outcomes move the counters', async () => {
    const m = new EngineMetrics({ channels: [{ id: 'c1', destinations: ['c1.d1'] }], defaultMetrics: false, depth: async () => 7 });
    const obs = m.storeObserver();
    const base = { channel: 'c1', receivedAt: new Date() };
    await obs.received!({ ...base, status: 'received' }, { id: 'a', duplicate: false });
    await obs.received!({ ...base, status: 'filtered' }, { id: 'b', duplicate: false });
    await obs.received!({ ...base, status: 'rejected' }, { id: 'c', duplicate: false });
    await obs.received!({ ...base, status: 'received' }, { id: 'a', duplicate: true });
    m.onOutcome(delivery('a'), { kind: 'retry', delayMs: 10, reason: 'x' });
    m.onOutcome(delivery('a'), { kind: 'done' });
    m.onOutcome(delivery('d'), { kind: 'dead-letter', reason: 'y' });
    m.onOutcome(delivery('e'), { kind: 'filtered' });

    const published: Envelope[][] = [];
    const queue = observeQueue({ publish: async (e: Envelope[]) => void published.push(e) } as unknown as DeliveryQueue, (e) => m.onPublished(e));
    await queue.publish([envelope('a'), envelope('f')]);

    expect(await value(m, 'tramline_messages_received_total', { channel: 'c1' })).toBe(3);
    expect(await value(m, 'tramline_messages_duplicate_total', { channel: 'c1' })).toBe(1);
    expect(await value(m, 'tramline_messages_rejected_total', { channel: 'c1' })).toBe(1);
    expect(await value(m, 'tramline_messages_filtered_total', { channel: 'c1', destination: '' })).toBe(1);
    expect(await value(m, 'tramline_messages_filtered_total', { channel: 'c1', destination: 'c1.d1' })).toBe(1);
    expect(await value(m, 'tramline_messages_queued_total', { channel: 'c1' })).toBe(2);
    expect(await value(m, 'tramline_messages_sent_total', { channel: 'c1', destination: 'c1.d1' })).toBe(1);
    expect(await value(m, 'tramline_messages_errored_total', { channel: 'c1', destination: 'c1.d1' })).toBe(1);
    expect(await value(m, 'tramline_messages_dead_lettered_total', { channel: 'c1', destination: 'c1.d1' })).toBe(1);
    expect(await value(m, 'tramline_queue_depth', { destination: 'c1.d1' })).toBe(7);
    expect(published).toHaveLength(1);
    const text = await m.metrics();
    expect(text).toMatch(/tramline_delivery_latency_seconds_count\{channel="c1",destination="c1.d1"\} 1/);
    expect(text).toMatch(/tramline_delivery_latency_seconds_bucket\{le="0.5",channel="c1",destination="c1.d1"\} 1/);
  });
});
