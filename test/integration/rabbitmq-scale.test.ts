// Volume, per-key order and several engine processes (simulated by several RabbitQueue
// instances, each with its own connection) sharing one destination.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { RabbitQueue } from '../../adapters/queue/rabbitmq.js';
import type { Delivery, DeliveryOutcome, Envelope } from '../../core/queue.js';
import { createTestVhost, waitFor, type TestVhost } from '../support/rabbit.js';

let vhost: TestVhost;
const queues: RabbitQueue[] = [];

beforeAll(async () => {
  vhost = await createTestVhost('scale');
}, 200_000);

afterAll(async () => {
  await Promise.allSettled(queues.map((q) => q.close()));
  await vhost?.remove();
});

const KEYS = 50;

function envelopes(count: number, from = 0): Envelope[] {
  return Array.from({ length: count }, (_, n) => {
    const i = from + n;
    return {
      messageId: `m-${i}`,
      channel: 'adt-in',
      routingKey: `hl7v2.ADT.A0${1 + (i % 8)}.RCB`,
      partitionKey: `patient-${i % KEYS}`,
      body: `MSH|^~\\&|PAS|RCB|||20260101||ADT^A01|${i}|P|2.4\rPID|||${i}`,
      headers: { seq: String(i) },
    };
  });
}

/** Records what every engine saw; checks exactly-once and per-key order. */
class Recorder {
  readonly byEngine = new Map<string, number>();
  readonly seen = new Map<string, number>();
  private readonly lastSeqOfKey = new Map<string, number>();
  readonly orderViolations: string[] = [];
  private readonly lastEngine = new Map<string, string>();

  handler(engine: string, slowEvery = 0): (d: Delivery) => Promise<DeliveryOutcome> {
    return async (d) => {
      if (slowEvery && Number(d.envelope.headers.seq) % slowEvery === 0) await new Promise((r) => setTimeout(r, 1));
      const seq = Number(d.envelope.headers.seq);
      const last = this.lastSeqOfKey.get(d.envelope.partitionKey) ?? -1;
      if (seq < last) this.orderViolations.push(`${d.envelope.partitionKey}: ${seq} after ${last} (${engine}, attempt ${d.attempt}, last by ${this.lastEngine.get(d.envelope.partitionKey)})`);
      this.lastEngine.set(d.envelope.partitionKey, engine);
      this.lastSeqOfKey.set(d.envelope.partitionKey, Math.max(seq, last));
      this.seen.set(d.envelope.messageId, (this.seen.get(d.envelope.messageId) ?? 0) + 1);
      this.byEngine.set(engine, (this.byEngine.get(engine) ?? 0) + 1);
      return { kind: 'done' };
    };
  }

  get duplicates(): number {
    return [...this.seen.values()].filter((n) => n > 1).length;
  }
}

function engine(prefix: string): RabbitQueue {
  const q = new RabbitQueue({ url: vhost.url, prefix, partitions: 8, rebalanceIntervalMs: 100 });
  queues.push(q);
  return q;
}

const subscription = { destination: 'case.inbox', bindings: ['hl7v2.ADT.#'], concurrency: 32 };

describe('RabbitQueue at volume', () => {
  test('10,000 messages over 50 keys, two engines: each delivered exactly once, order kept per key', async () => {
    const prefix = vhost.prefix('volume');
    const a = engine(prefix);
    const b = engine(prefix);
    await a.start([subscription]);
    await b.start([subscription]);
    const recorder = new Recorder();
    await a.consume('case.inbox', recorder.handler('a'));
    await b.consume('case.inbox', recorder.handler('b'));
    await waitFor('partitions shared', () => a.ownedPartitions('case.inbox').length === 4 && b.ownedPartitions('case.inbox').length === 4);

    const all = envelopes(10_000);
    const t0 = performance.now();
    // One publisher, so "publish order per key" is well defined.
    await a.publish(all);
    const published = performance.now();
    await waitFor('all delivered', () => recorder.seen.size === all.length, 50_000);
    const consumed = performance.now();

    expect(recorder.duplicates).toBe(0);
    expect(recorder.orderViolations).toEqual([]);
    expect(recorder.byEngine.get('a')).toBeGreaterThan(0);
    expect(recorder.byEngine.get('b')).toBeGreaterThan(0);
    expect(await a.depth('case.inbox')).toBe(0);
    console.log(
      `rabbitmq volume: ${all.length} msgs; publish confirmed ${Math.round(all.length / ((published - t0) / 1000))} msg/s; ` +
        `end to end ${Math.round(all.length / ((consumed - t0) / 1000))} msg/s; per engine ${JSON.stringify(Object.fromEntries(recorder.byEngine))}`,
    );
  }, 60_000);

  test('a second engine joining mid-stream takes over partitions without loss, duplicates or reordering', async () => {
    const prefix = vhost.prefix('join');
    const a = engine(prefix);
    await a.start([subscription]);
    const recorder = new Recorder();
    await a.consume('case.inbox', recorder.handler('a', 3));
    await waitFor('a owns everything', () => a.ownedPartitions('case.inbox').length === 8);

    const first = envelopes(6000);
    const publishing = a.publish(first);
    await waitFor('a under way', () => recorder.seen.size > 500);
    const b = engine(prefix);
    await b.start([subscription]);
    await b.consume('case.inbox', recorder.handler('b', 3));
    await waitFor('partitions shared', () => b.ownedPartitions('case.inbox').length === 4 && a.ownedPartitions('case.inbox').length === 4, 30_000);
    await publishing;
    // More traffic once both own partitions, so b certainly has work even on a slow machine.
    await a.publish(envelopes(2000, 6000));
    await waitFor('all delivered', () => recorder.seen.size === 8000, 40_000);

    expect(recorder.duplicates).toBe(0);
    expect(recorder.orderViolations).toEqual([]);
    expect(recorder.byEngine.get('b')).toBeGreaterThan(0);
  }, 60_000);

  test('when an engine goes away its partitions move to the survivor; at-least-once, order kept', async () => {
    const prefix = vhost.prefix('failover');
    const a = engine(prefix);
    const b = engine(prefix);
    const publisher = engine(prefix);
    await publisher.start([subscription]);
    await a.start([subscription]);
    await b.start([subscription]);
    const recorder = new Recorder();
    await a.consume('case.inbox', recorder.handler('a', 2));
    await b.consume('case.inbox', recorder.handler('b', 2));
    await waitFor('partitions shared', () => a.ownedPartitions('case.inbox').length === 4 && b.ownedPartitions('case.inbox').length === 4);

    const all = envelopes(5000);
    const publishing = publisher.publish(all);
    await waitFor('under way', () => recorder.seen.size > 1000);
    // Closing waits for b's handlers and acks; nothing of b's is lost, a takes its partitions.
    await b.close();
    await publishing;
    await waitFor('all delivered', () => recorder.seen.size === all.length, 40_000);
    await waitFor('a owns everything', () => a.ownedPartitions('case.inbox').length === 8);
    expect(recorder.orderViolations).toEqual([]);
    expect(recorder.duplicates).toBe(0);
  }, 60_000);

  test('kill -9 of an engine mid-stream: the survivor takes its partitions, nothing lost, first deliveries in order', async () => {
    const prefix = vhost.prefix('kill');
    const destination = 'case.inbox';
    const publisher = engine(prefix);
    await publisher.start([{ destination, bindings: ['#'], concurrency: 1 }]);
    const a = engine(prefix);
    await a.start([{ destination, bindings: ['#'], concurrency: 16 }]);

    // Every first delivery with its wall-clock time, from both processes.
    const events: Array<{ id: string; seq: number; at: number; by: string }> = [];
    await a.consume(destination, async (d) => {
      events.push({ id: d.envelope.messageId, seq: Number(d.envelope.headers.seq), at: performance.timeOrigin + performance.now(), by: 'a' });
      await new Promise((r) => setTimeout(r, 1));
      return { kind: 'done' };
    });
    let childOwned = 0;
    let childSeen = 0;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/rabbit-consumer-process.ts'], {
      env: { ...process.env, NODE_OPTIONS: '', TRAMLINE_LOG_LEVEL: 'warn', RABBIT_URL: vhost.url, RABBIT_PREFIX: prefix, RABBIT_DESTINATION: destination },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, id, seq, at] = line.split(' ');
      if (kind === 'owned') childOwned = Number(id);
      if (kind === 'seen') {
        childSeen++;
        events.push({ id, seq: Number(seq), at: Number(at), by: 'child' });
      }
    });
    try {
      await waitFor('partitions shared with the child', () => childOwned === 4 && a.ownedPartitions(destination).length === 4, 30_000);
      const total = 5000;
      const publishing = (async () => {
        for (let from = 0; from < total; from += 100) {
          await publisher.publish(envelopes(100, from));
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await waitFor('child under way', () => childSeen > 500);
      child.kill('SIGKILL');
      await exited;
      await publishing;
      await waitFor('a owns everything', () => a.ownedPartitions(destination).length === 8, 30_000);
      const unique = (): number => new Set(events.map((e) => e.id)).size;
      await waitFor('every message delivered', () => unique() === total, 40_000);

      const firstSeen = new Map<string, (typeof events)[number]>();
      for (const e of [...events].sort((x, y) => x.at - y.at)) if (!firstSeen.has(e.id)) firstSeen.set(e.id, e);
      const lastSeqOfKey = new Map<number, number>();
      const violations: string[] = [];
      for (const e of [...firstSeen.values()].sort((x, y) => x.at - y.at)) {
        const key = e.seq % KEYS;
        if ((lastSeqOfKey.get(key) ?? -1) > e.seq) violations.push(`${e.seq} after ${lastSeqOfKey.get(key)} (${e.by})`);
        lastSeqOfKey.set(key, e.seq);
      }
      expect(violations).toEqual([]);
      expect(events.some((e) => e.by === 'child')).toBe(true);
      console.log(`rabbitmq kill -9: ${total} unique delivered, ${events.length - total} duplicate deliveries after the crash`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
