// RabbitQueue against the real local broker: routing, retries, dead letters, replay, depth.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import amqp from 'amqplib';
import { RabbitQueue } from '../../adapters/queue/rabbitmq.js';
import type { Delivery, DeliveryOutcome, Envelope } from '../../core/queue.js';
import { createTestVhost, waitFor, type TestVhost } from '../support/rabbit.js';

let vhost: TestVhost;
const queues: RabbitQueue[] = [];

beforeAll(async () => {
  vhost = await createTestVhost('queue');
}, 200_000);

afterAll(async () => {
  await Promise.allSettled(queues.map((q) => q.close()));
  await vhost?.remove();
});

function envelope(id: string, routingKey: string, partitionKey: string): Envelope {
  return { messageId: id, channel: 'adt-in', routingKey, partitionKey, body: `MSH|^~\\&|PAS|RCB|||20260101||ADT^A01|${id}|P|2.4`, headers: { messageType: 'ADT' } };
}

function queue(label: string, partitions = 4): RabbitQueue {
  const q = new RabbitQueue({ url: vhost.url, prefix: vhost.prefix(label), partitions, rebalanceIntervalMs: 200 });
  queues.push(q);
  return q;
}

describe('RabbitQueue', () => {
  test('routes by binding pattern and fans out to several destinations', async () => {
    const q = queue('fanout');
    await q.start([
      { destination: 'adt.caseA', bindings: ['hl7v2.ADT.#'], concurrency: 4 },
      { destination: 'adt.caseB', bindings: ['hl7v2.*.A01.*', 'hl7v2.ORU.#'], concurrency: 4 },
    ]);
    const seen: Record<string, string[]> = { 'adt.caseA': [], 'adt.caseB': [] };
    const record = (d: Delivery): Promise<DeliveryOutcome> => {
      seen[d.destination].push(d.envelope.messageId);
      return Promise.resolve({ kind: 'done' });
    };
    await q.consume('adt.caseA', record);
    await q.consume('adt.caseB', record);
    await q.publish([
      envelope('m1', 'hl7v2.ADT.A01.RCB', '9434765919'),
      envelope('m2', 'hl7v2.ADT.A03.RCB', '9434765919'),
      envelope('m3', 'hl7v2.ORU.R01.RCB', '9449305552'),
      envelope('m4', 'hl7v2.SIU.S12.RCB', '9449305552'),
    ]);
    await waitFor('both destinations', () => seen['adt.caseA'].length === 2 && seen['adt.caseB'].length === 2);
    expect(seen['adt.caseA']).toEqual(['m1', 'm2']);
    expect(seen['adt.caseB'].sort()).toEqual(['m1', 'm3']);
    expect(await q.depth('adt.caseA')).toBe(0);
  });

  test('start again adds subscriptions on the live connection (channel hot reload)', async () => {
    const q = queue('reload');
    await q.start([{ destination: 'first', bindings: ['hl7v2.ADT.#'], concurrency: 1 }]);
    await q.start([{ destination: 'second', bindings: ['hl7v2.ORU.#'], concurrency: 1 }]);
    const seen: string[] = [];
    await q.consume('second', async (d) => {
      seen.push(d.envelope.messageId);
      return { kind: 'done' };
    });
    await q.publish([envelope('o1', 'hl7v2.ORU.R01.RCB', 'p'), envelope('a1', 'hl7v2.ADT.A01.RCB', 'p')]);
    await waitFor('second destination', () => seen.length === 1);
    expect(seen).toEqual(['o1']);
    expect(await q.depth('first')).toBe(1);
  });

  test('carries the envelope through the broker unchanged', async () => {
    const q = queue('codec');
    await q.start([{ destination: 'd', bindings: ['#'], concurrency: 1 }]);
    const received: Delivery[] = [];
    await q.consume('d', (d) => {
      received.push(d);
      return Promise.resolve({ kind: 'done' });
    });
    const sent = { ...envelope('ü-1', 'hl7v2.ADT.A08.RCB', '9912003888'), body: 'PID|||9912003888^^^NHS||Ñame^Test', headers: { ward: 'W1', facility: 'RCB' } };
    await q.publish([sent]);
    await waitFor('delivery', () => received.length === 1);
    expect(received[0]).toEqual({ envelope: sent, destination: 'd', attempt: 1 });
  });

  test('retries in place with backoff, keeps the key blocked, lets other keys through', async () => {
    const q = queue('retry');
    await q.start([{ destination: 'd', bindings: ['#'], concurrency: 4 }]);
    const events: string[] = [];
    await q.consume('d', async (d) => {
      events.push(`${d.envelope.messageId}#${d.attempt}`);
      if (d.envelope.messageId === 'a1' && d.attempt < 3) return { kind: 'retry', delayMs: 250, reason: 'DeliveryError: HTTP 503' };
      return { kind: 'done' };
    });
    await q.publish([envelope('a1', 'hl7v2.ADT.A01.RCB', 'patient-a'), envelope('a2', 'hl7v2.ADT.A03.RCB', 'patient-a')]);
    await q.publish([envelope('b1', 'hl7v2.ADT.A01.RCB', 'patient-b')]);
    await waitFor('a2 delivered', () => events.includes('a2#1'));
    // a1 was tried three times, a2 waited for it, b1 did not.
    expect(events.filter((e) => e.startsWith('a'))).toEqual(['a1#1', 'a1#2', 'a1#3', 'a2#1']);
    expect(events.indexOf('b1#1')).toBeLessThan(events.indexOf('a1#3'));
    expect(await q.depth('d')).toBe(0);
  });

  test('delay-queue retry mode parks retries in broker TTL queues, then redelivers with the next attempt', async () => {
    const q = new RabbitQueue({ url: vhost.url, prefix: vhost.prefix('delay'), partitions: 2, retryMode: { d: 'delay-queue' }, retryDelayLevelsMs: [100, 400] });
    queues.push(q);
    await q.start([{ destination: 'd', bindings: ['#'], concurrency: 2 }]);
    const seen: Array<{ attempt: number; at: number }> = [];
    let parked = false;
    await q.consume('d', async (d) => {
      seen.push({ attempt: d.attempt, at: Date.now() });
      if (d.attempt < 3) {
        parked = true;
        return { kind: 'retry', delayMs: d.attempt === 1 ? 50 : 300, reason: 'DeliveryError: HTTP 503' };
      }
      return { kind: 'done' };
    });
    await q.publish([envelope('p1', 'hl7v2.ADT.A01.RCB', 'p')]);
    await waitFor('parked', () => parked);
    await waitFor('third attempt', () => seen.length === 3);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
    // 50 ms rounds up to the 100 ms level, 300 ms to the 400 ms level.
    expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(90);
    expect(seen[2].at - seen[1].at).toBeGreaterThanOrEqual(390);
    await waitFor('empty', async () => (await q.depth('d')) === 0);
  });

  test('depth includes messages waiting in a delay queue', async () => {
    const q = new RabbitQueue({ url: vhost.url, prefix: vhost.prefix('delay-depth'), partitions: 2, retryMode: 'delay-queue', retryDelayLevelsMs: [60_000] });
    queues.push(q);
    await q.start([{ destination: 'd', bindings: ['#'], concurrency: 2 }]);
    let calls = 0;
    await q.consume('d', async () => {
      calls++;
      return { kind: 'retry', delayMs: 60_000, reason: 'DeliveryError: HTTP 503' };
    });
    await q.publish([envelope('w1', 'hl7v2.ADT.A01.RCB', 'p'), envelope('w2', 'hl7v2.ADT.A01.RCB', 'q')]);
    await waitFor('both parked', async () => calls === 2 && (await q.depth('d')) === 2);
  });

  test('messages waiting to retry do not hold handler slots', async () => {
    // One handler slot, but room in each partition's prefetch window for the other keys.
    const q = new RabbitQueue({ url: vhost.url, prefix: vhost.prefix('slots'), partitions: 4, prefetch: 10 });
    queues.push(q);
    await q.start([{ destination: 'd', bindings: ['#'], concurrency: 1 }]);
    const done: string[] = [];
    await q.consume('d', async (d) => {
      if (d.envelope.partitionKey === 'stuck' && d.attempt < 3) return { kind: 'retry', delayMs: 300, reason: 'DeliveryError: HTTP 503' };
      done.push(d.envelope.messageId);
      return { kind: 'done' };
    });
    await q.publish([envelope('s1', 'hl7v2.ADT.A01.RCB', 'stuck'), ...Array.from({ length: 5 }, (_, i) => envelope(`f${i}`, 'hl7v2.ADT.A01.RCB', `free-${i}`))]);
    await waitFor('all done', () => done.length === 6);
    // With one slot, the five free keys finished while s1 was waiting between attempts.
    expect(done.indexOf('s1')).toBe(5);
  });

  test('a thrown handler error is retried like a retry outcome', async () => {
    const q = queue('throw');
    await q.start([{ destination: 'd', bindings: ['#'], concurrency: 1 }]);
    const attempts: number[] = [];
    await q.consume('d', (d) => {
      attempts.push(d.attempt);
      if (d.attempt === 1) return Promise.reject(new Error('socket hang up'));
      return Promise.resolve({ kind: 'done' });
    });
    await q.publish([envelope('t1', 'hl7v2.ADT.A01.RCB', 'p')]);
    await waitFor('second attempt', () => attempts.length === 2);
    expect(attempts).toEqual([1, 2]);
  });

  test('dead-letters with reason and attempts, lists without losing, replays with the same id', async () => {
    const q = queue('dlq');
    await q.start([{ destination: 'case.rest', bindings: ['#'], concurrency: 2 }]);
    let fixed = false;
    const delivered: Delivery[] = [];
    await q.consume('case.rest', async (d) => {
      if (!fixed) {
        if (d.attempt < 2) return { kind: 'retry', delayMs: 10, reason: 'DeliveryError: HTTP 503' };
        return { kind: 'dead-letter', reason: 'DeliveryError: HTTP 400 Bad Request' };
      }
      delivered.push(d);
      return { kind: 'done' };
    });
    const before = Date.now();
    await q.publish([envelope('d1', 'hl7v2.ADT.A01.RCB', 'p1'), envelope('d2', 'hl7v2.ADT.A01.RCB', 'p2'), envelope('d3', 'hl7v2.ADT.A01.RCB', 'p1')]);
    await waitFor('three dead letters', async () => (await q.listDeadLetters('case.rest')).length === 3);

    const first = await q.listDeadLetters('case.rest');
    const again = await q.listDeadLetters('case.rest');
    expect(again.map((d) => d.envelope.messageId)).toEqual(first.map((d) => d.envelope.messageId));
    expect(first.map((d) => d.envelope.messageId).sort()).toEqual(['d1', 'd2', 'd3']);
    // Same partition key: dead-lettered in publish order.
    const ids = first.map((d) => d.envelope.messageId);
    expect(ids.indexOf('d1')).toBeLessThan(ids.indexOf('d3'));
    for (const dl of first) {
      expect(dl.reason).toBe('DeliveryError: HTTP 400 Bad Request');
      expect(dl.attempts).toBe(2);
      expect(dl.destination).toBe('case.rest');
      expect(dl.deadLetteredAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(dl.envelope.headers).toEqual({ messageType: 'ADT' });
    }
    expect(await q.listDeadLetters('case.rest', 1)).toHaveLength(1);
    expect(await q.depth('case.rest')).toBe(0);

    fixed = true;
    expect(await q.replayDeadLetters('case.rest', ['d2'])).toBe(1);
    await waitFor('d2 replayed', () => delivered.length === 1);
    expect(delivered[0].envelope.messageId).toBe('d2');
    expect(delivered[0].attempt).toBe(1);
    expect((await q.listDeadLetters('case.rest')).map((d) => d.envelope.messageId)).toEqual(ids.filter((id) => id !== 'd2'));

    expect(await q.replayDeadLetters('case.rest')).toBe(2);
    await waitFor('all replayed', () => delivered.length === 3);
    expect(delivered.map((d) => d.envelope.messageId)).toEqual(['d2', 'd1', 'd3']);
    expect(await q.listDeadLetters('case.rest')).toEqual([]);
  });

  test('discards chosen dead letters and keeps the others in order', async () => {
    const q = queue('discard');
    await q.start([{ destination: 'd', bindings: ['#'], concurrency: 1 }]);
    await q.consume('d', async () => ({ kind: 'dead-letter', reason: 'DeliveryError: HTTP 422' }));
    await q.publish(['x1', 'x2', 'x3', 'x4'].map((id) => envelope(id, 'hl7v2.ADT.A01.RCB', 'same')));
    await waitFor('four dead letters', async () => (await q.listDeadLetters('d')).length === 4);
    expect(await q.discardDeadLetters('d', ['x2', 'x4', 'unknown'])).toBe(2);
    expect((await q.listDeadLetters('d')).map((d) => d.envelope.messageId)).toEqual(['x1', 'x3']);
  });

  test('replay goes only to the dead-lettering destination, not to every subscriber', async () => {
    const q = queue('replay-scope');
    await q.start([
      { destination: 'a', bindings: ['#'], concurrency: 1 },
      { destination: 'b', bindings: ['#'], concurrency: 1 },
    ]);
    const seen: string[] = [];
    let failA = true;
    await q.consume('a', async (d) => {
      seen.push(`a:${d.envelope.messageId}`);
      return failA ? { kind: 'dead-letter', reason: 'DeliveryError: HTTP 400' } : { kind: 'done' };
    });
    await q.consume('b', async (d) => {
      seen.push(`b:${d.envelope.messageId}`);
      return { kind: 'done' };
    });
    await q.publish([envelope('r1', 'hl7v2.ADT.A01.RCB', 'p')]);
    await waitFor('dead letter in a', async () => (await q.listDeadLetters('a')).length === 1);
    failA = false;
    expect(await q.replayDeadLetters('a')).toBe(1);
    await waitFor('replayed to a', () => seen.filter((s) => s === 'a:r1').length === 2);
    expect(seen.filter((s) => s === 'b:r1')).toHaveLength(1);
  });

  test('a message that is not an envelope is dead-lettered by the broker, listed, never replayed', async () => {
    const prefix = vhost.prefix('malformed');
    const q = new RabbitQueue({ url: vhost.url, prefix, partitions: 1 });
    queues.push(q);
    await q.start([{ destination: 'd', bindings: ['#'], concurrency: 1 }]);
    const handled: string[] = [];
    await q.consume('d', async (d) => {
      handled.push(d.envelope.messageId);
      return { kind: 'done' };
    });
    const raw = await amqp.connect(vhost.url);
    try {
      const channel = await raw.createConfirmChannel();
      channel.publish(`${prefix}.inbound`, 'hl7v2.ADT.A01.RCB', Buffer.from('not an envelope'), { headers: { 'tramline-partition': '0' } });
      await channel.waitForConfirms();
    } finally {
      await raw.close();
    }
    await waitFor('dead-lettered', async () => (await q.listDeadLetters('d')).length === 1);
    const [dl] = await q.listDeadLetters('d');
    expect(dl.reason).toBe('broker dead-lettered: rejected');
    expect(dl.envelope.body).toBe('not an envelope');
    expect(await q.replayDeadLetters('d')).toBe(0);
    expect(await q.listDeadLetters('d')).toHaveLength(1);
    expect(handled).toEqual([]);
  });

  test('depth counts waiting messages before anyone consumes', async () => {
    const q = queue('depth');
    await q.start([{ destination: 'd', bindings: ['hl7v2.#'], concurrency: 1 }]);
    await q.publish(Array.from({ length: 25 }, (_, i) => envelope(`x${i}`, 'hl7v2.ADT.A01.RCB', `p${i % 7}`)));
    await q.publish([envelope('ignored', 'fhir.Patient', 'p1')]);
    expect(await q.depth('d')).toBe(25);
    expect(q.connected).toBe(true);
  });

  test('close waits for running handlers and acks them; deliveries not yet started go back to the queue', async () => {
    const prefix = vhost.prefix('close');
    const subscriptions = [{ destination: 'd', bindings: ['#'], concurrency: 1 }];
    const first = new RabbitQueue({ url: vhost.url, prefix, partitions: 1 });
    await first.start(subscriptions);
    let release: () => void = () => undefined;
    const started: string[] = [];
    await first.consume('d', async (d) => {
      started.push(d.envelope.messageId);
      await new Promise<void>((resolve) => (release = resolve));
      return { kind: 'done' };
    });
    await first.publish(['c1', 'c2', 'c3'].map((id) => envelope(id, 'hl7v2.ADT.A01.RCB', 'same-person')));
    await waitFor('c1 running', () => started.length === 1);
    const closing = first.close();
    setTimeout(() => release(), 100);
    await closing;
    expect(started).toEqual(['c1']);

    const next = new RabbitQueue({ url: vhost.url, prefix, partitions: 1 });
    queues.push(next);
    await next.start(subscriptions);
    const redelivered: string[] = [];
    await next.consume('d', async (d) => {
      redelivered.push(d.envelope.messageId);
      return { kind: 'done' };
    });
    await waitFor('rest delivered', () => redelivered.length === 2);
    expect(redelivered).toEqual(['c2', 'c3']);
  });

  test('a consumer channel closed by the broker (connection still up) is reopened and its partitions reclaimed', async () => {
    const q = queue('channel-loss', 4);
    await q.start([{ destination: 'd', bindings: ['#'], concurrency: 4 }]);
    const seen = new Set<string>();
    await q.consume('d', async (d) => {
      seen.add(d.envelope.messageId);
      return { kind: 'done' };
    });
    await waitFor('all partitions', () => q.ownedPartitions('d').length === 4);
    await q.publish(Array.from({ length: 20 }, (_, i) => envelope(`c${i}`, 'hl7v2.ADT.A01.RCB', `p${i}`)));
    await waitFor('first batch', () => seen.size === 20);
    // Acking an unknown delivery tag is a channel error: the broker closes the consumer channel.
    const internals = q as unknown as { consumers: Map<string, { generation?: { channel: { ack(m: unknown): void } } }> };
    internals.consumers.get('d')?.generation?.channel.ack({ fields: { deliveryTag: 999_999 } });
    await waitFor('partitions lost', () => q.ownedPartitions('d').length < 4);
    await waitFor('partitions reclaimed', () => q.ownedPartitions('d').length === 4);
    await q.publish(Array.from({ length: 20 }, (_, i) => envelope(`c${20 + i}`, 'hl7v2.ADT.A01.RCB', `p${i}`)));
    await waitFor('second batch', () => seen.size === 40);
    expect(q.connected).toBe(true);
  });

  test('start fails when the broker cannot be reached', async () => {
    const q = new RabbitQueue({ url: 'amqp://guest:guest@127.0.0.1:1', reconnect: { initialDelayMs: 10, attemptsAtStart: 1 } });
    await expect(q.start([])).rejects.toThrow();
    await q.close();
  });
});
