// The broker goes away mid-stream and comes back: stopped (`rabbitmqctl stop_app` / `start_app`)
// or killed (kill -9 of its VM, restarted on the same data dir). The queue reconnects by itself,
// publishes in flight are confirmed after all, nothing is lost. The broker is a private node of
// this file; the shared one must come out untouched.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { PublishAbortedError, RabbitQueue } from '../../adapters/queue/rabbitmq.js';
import type { Envelope } from '../../core/queue.js';
import { brokerRun, createTestVhost, expectSharedBrokerUntouchedSince, waitFor, type TestVhost } from '../support/rabbit.js';
import { startPrivateRabbit, type PrivateRabbit } from '../support/rabbit-node.js';

let sharedBefore: Awaited<ReturnType<typeof brokerRun>>;
let broker: PrivateRabbit;
let vhost: TestVhost;
const queues: RabbitQueue[] = [];

beforeAll(async () => {
  sharedBefore = await brokerRun();
  broker = await startPrivateRabbit('reconnect');
  vhost = await createTestVhost('reconnect', broker);
}, 200_000);

afterAll(async () => {
  await Promise.allSettled(queues.map((q) => q.close()));
  await broker?.remove();
});

/** Publish-call order: what per-key order is measured against. */
let publishOrder = 0;

function envelope(i: number): Envelope {
  return {
    messageId: `r-${i}`,
    channel: 'adt-in',
    routingKey: 'hl7v2.ADT.A08.RCB',
    partitionKey: `patient-${i % 20}`,
    body: `MSH|^~\\&|PAS|RCB|||20260101||ADT^A08|${i}|P|2.4`,
    headers: { seq: String(publishOrder++) },
  };
}

/** Stream, take the broker away with `outage` (which brings it back when `during` ends), stream on. */
async function outageMidStream(label: string, outage: (during: () => Promise<void>) => Promise<void>): Promise<void> {
  const runBefore = await brokerRun(broker);
  const q = new RabbitQueue({ url: vhost.url, prefix: vhost.prefix(label), partitions: 4, rebalanceIntervalMs: 200, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } });
  queues.push(q);
  const changes: boolean[] = [];
  q.onConnectionChange((connected) => changes.push(connected));
  await q.start([{ destination: 'case.inbox', bindings: ['hl7v2.#'], concurrency: 16 }]);

  const firstSeen = new Map<string, number>();
  const lastFirstSeqOfKey = new Map<string, number>();
  const orderViolations: string[] = [];
  let deliveries = 0;
  await q.consume('case.inbox', async (d) => {
    deliveries++;
    if (firstSeen.has(d.envelope.messageId)) return { kind: 'done' };
    const seq = Number(d.envelope.headers.seq);
    const last = lastFirstSeqOfKey.get(d.envelope.partitionKey) ?? -1;
    if (seq < last) orderViolations.push(`${d.envelope.partitionKey}: ${seq} after ${last}`);
    lastFirstSeqOfKey.set(d.envelope.partitionKey, seq);
    firstSeen.set(d.envelope.messageId, seq);
    await new Promise((r) => setTimeout(r, 1));
    return { kind: 'done' };
  });

  const total = 3000;
  const streamed = 2000;
  let confirmed = 0;
  let batchesStarted = 0;
  // An intake publishing batches as they come: some are in flight when the broker stops.
  const streaming = (async () => {
    for (let from = 0; from < streamed; from += 50) {
      batchesStarted++;
      await q.publish(Array.from({ length: 50 }, (_, i) => envelope(from + i)));
      confirmed += 50;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  await waitFor('stream under way', () => firstSeen.size > 300);
  let pendingWhileDown = 0;
  let publishedWhileDown: Promise<void> | undefined;
  await outage(async () => {
    await waitFor('disconnect noticed', () => !q.connected);
    // Published while the broker is away: waits, and is sent when it returns.
    publishedWhileDown = q.publish(Array.from({ length: total - streamed }, (_, i) => envelope(streamed + i))).then(() => {
      confirmed += total - streamed;
    });
    pendingWhileDown = q.pendingPublishes;
    const batchesBefore = batchesStarted;
    // An intake that will not wait (it keeps the backlog in its store instead) gives up in time.
    await expect(q.publish([envelope(-1)], { signal: AbortSignal.timeout(200) })).rejects.toBeInstanceOf(PublishAbortedError);
    // It left nothing behind: pending grew only by the stream's own batches started meanwhile
    // (one had just been confirmed when the broker went away, on a busy machine).
    expect(q.pendingPublishes).toBe(pendingWhileDown + 50 * (batchesStarted - batchesBefore));
  });
  await waitFor('reconnected', () => q.connected, 30_000);
  await streaming;
  await publishedWhileDown;
  await waitFor('every message delivered', () => firstSeen.size === total, 30_000);

  expect(changes).toContain(false);
  expect(changes.at(-1)).toBe(true);
  expect(confirmed).toBe(total);
  expect(pendingWhileDown).toBeGreaterThan(0);
  expect(orderViolations).toEqual([]);
  expect(deliveries).toBeGreaterThanOrEqual(total);
  await waitFor('queue drained', async () => (await q.depth('case.inbox')) === 0);
  // The broker really went away: what the shared-broker check below relies on.
  expect((await brokerRun(broker)).id).not.toBe(runBefore.id);
  console.log(`rabbitmq ${label}: ${total} unique delivered, ${deliveries - total} duplicate deliveries (deduplicated by messageId downstream)`);
}

describe('RabbitQueue when the broker restarts', () => {
  test('stop_app / start_app mid-stream: reconnects by itself, nothing lost, first deliveries in order', async () => {
    await outageMidStream('restart', (during) => broker.whileAppStopped(during));
  }, 200_000);

  test('kill -9 of the broker mid-stream, restarted on its data: reconnects by itself, nothing lost, first deliveries in order', async () => {
    await outageMidStream('kill', (during) => broker.whileKilled(during));
  }, 200_000);

  test('the shared broker was neither stopped nor restarted', async () => {
    await expectSharedBrokerUntouchedSince(sharedBefore);
  });
});
