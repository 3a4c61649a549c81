import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { EmbeddedQueue } from '../../adapters/queue/embedded.js';
import type { Delivery, DeliveryOutcome, Envelope } from '../../core/queue.js';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

const keys = parseContentKeys(`q1:${crypto.randomBytes(32).toString('base64')}`);

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function envelope(n: number, overrides: Partial<Envelope> = {}): Envelope {
  return {
    messageId: `m-${n}-${crypto.randomBytes(3).toString('hex')}`,
    channel: 'adt-in',
    routingKey: 'hl7v2.ADT.A01.RCB',
    partitionKey: '9434765919',
    body: JSON.stringify({ n }),
    headers: { messageType: 'ADT^A01', controlId: `MSG${n}` },
    ...overrides,
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe.each(BACKENDS)('EmbeddedQueue on %s', (backendName) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  const unique = () => `d${crypto.randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    backend = createBackend(backendName);
    db = await backend.openMigrated();
  });

  afterAll(async () => {
    await db?.close();
    await backend?.cleanup();
  });

  test('fans out by binding pattern and delivers the envelope intact', async () => {
    const [adtAll, a01Only, oru] = [unique(), unique(), unique()];
    const queue = new EmbeddedQueue(db, { keys });
    await expect(queue.publish([envelope(0)])).rejects.toThrow(/before start/);
    await queue.start([
      { destination: adtAll, bindings: ['hl7v2.ADT.#'], concurrency: 4 },
      { destination: a01Only, bindings: ['hl7v2.*.A01.*'], concurrency: 4 },
      { destination: oru, bindings: ['hl7v2.ORU.#'], concurrency: 4 },
    ]);
    const a01 = envelope(1);
    const a03 = envelope(2, { routingKey: 'hl7v2.ADT.A03.RCB' });
    await queue.publish([a01, a03, envelope(3, { routingKey: 'fhir.notice' })]);
    expect([await queue.depth(adtAll), await queue.depth(a01Only), await queue.depth(oru)]).toEqual([2, 1, 0]);

    const got = new Map<string, Delivery[]>();
    const handler = async (d: Delivery): Promise<DeliveryOutcome> => {
      got.set(d.destination, [...(got.get(d.destination) ?? []), d]);
      return { kind: 'done' };
    };
    await queue.consume(adtAll, handler);
    await queue.consume(a01Only, handler);
    await waitFor(async () => (await queue.depth(adtAll)) === 0 && (await queue.depth(a01Only)) === 0, 'deliveries');
    expect(got.get(adtAll)?.map((d) => d.envelope)).toEqual([a01, a03]);
    expect(got.get(a01Only)).toEqual([{ envelope: a01, destination: a01Only, attempt: 1 }]);
    await expect(queue.consume(adtAll, handler)).rejects.toThrow(/already has a consumer/);
    await expect(queue.consume('nowhere', handler)).rejects.toThrow(/unknown destination/);
    await queue.close();
  });

  test('payloads are sealed in the table', async () => {
    const destination = unique();
    const queue = new EmbeddedQueue(db, { keys });
    await queue.start([{ destination, bindings: ['#'], concurrency: 1 }]);
    await queue.publish([envelope(1, { body: 'PID|1||9434765919^^^NHS||QUILLFEATHERSTONE^Alyssa' })]);
    const row = await db.kysely.selectFrom('queue_items').selectAll().where('destination', '=', destination).executeTakeFirstOrThrow();
    expect(row.ciphertext.includes(Buffer.from('QUILLFEATHERSTONE'))).toBe(false);
    expect(row.key_id).toBe('q1');
    await queue.close();
  });

  test('an item in flight when the process stops is delivered again after restart', async () => {
    const destination = unique();
    const sub = { destination, bindings: ['#'], concurrency: 2 };
    const first = new EmbeddedQueue(db, { keys });
    await first.start([sub]);
    const item = envelope(7);
    await first.publish([item]);
    const release = deferred<DeliveryOutcome>();
    const firstDeliveries: Delivery[] = [];
    await first.consume(destination, (d) => {
      firstDeliveries.push(d);
      return release.promise;
    });
    await waitFor(() => firstDeliveries.length === 1, 'first delivery');

    // "Restart": a new process (own connection, own memory) while the first one never finished.
    const secondDb = await backend.open();
    const second = new EmbeddedQueue(secondDb, { keys });
    await second.start([sub]);
    const secondDeliveries: Delivery[] = [];
    await second.consume(destination, async (d) => {
      secondDeliveries.push(d);
      return { kind: 'done' };
    });
    await waitFor(() => secondDeliveries.length === 1, 'redelivery after restart');
    expect(secondDeliveries[0]).toEqual({ envelope: item, destination, attempt: 1 });
    await second.close();
    await secondDb.close();

    // close() waits for the handler still running in the first instance.
    let closed = false;
    const closing = first.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release.resolve({ kind: 'done' });
    await closing;
    expect(await first.depth(destination)).toBe(0);
  });

  test('retry: later available_at and attempt + 1, then redelivered after the delay', async () => {
    const destination = unique();
    const queue = new EmbeddedQueue(db, { keys });
    await queue.start([{ destination, bindings: ['#'], concurrency: 1 }]);
    const longRetry = envelope(1, { partitionKey: 'p-long' });
    const shortRetry = envelope(2, { partitionKey: 'p-short' });
    await queue.publish([longRetry, shortRetry]);
    const seen: { id: string; attempt: number; at: number }[] = [];
    let outcomeRecordedAround = 0;
    await queue.consume(destination, async (d) => {
      seen.push({ id: d.envelope.messageId, attempt: d.attempt, at: Date.now() });
      if (d.envelope.messageId === longRetry.messageId) {
        outcomeRecordedAround = Date.now();
        return { kind: 'retry', delayMs: 60_000, reason: 'DeliveryError: HTTP 503' };
      }
      return d.attempt === 1 ? { kind: 'retry', delayMs: 150, reason: 'DeliveryError: timeout' } : { kind: 'done' };
    });

    const longRow = () =>
      db.kysely.selectFrom('queue_items').selectAll().where('message_id', '=', longRetry.messageId).executeTakeFirstOrThrow();
    await waitFor(async () => (await longRow()).attempt === 2, 'long retry recorded');
    const row = await longRow();
    expect(row.available_at).toBeGreaterThanOrEqual(outcomeRecordedAround + 60_000);
    expect(row.available_at).toBeLessThan(Date.now() + 60_000 + 1);

    await waitFor(() => seen.filter((s) => s.id === shortRetry.messageId).length === 2, 'short retry redelivered');
    const [firstTry, secondTry] = seen.filter((s) => s.id === shortRetry.messageId);
    expect(secondTry.attempt).toBe(2);
    expect(secondTry.at - firstTry.at).toBeGreaterThanOrEqual(150);
    await waitFor(async () => (await queue.depth(destination)) === 1, 'short retry done');
    await queue.close();
  });

  test('a handler that throws is retried with the error as reason', async () => {
    const destination = unique();
    const queue = new EmbeddedQueue(db, { keys });
    await queue.start([{ destination, bindings: ['#'], concurrency: 1 }]);
    const item = envelope(1);
    await queue.publish([item]);
    const before = Date.now();
    await queue.consume(destination, async () => {
      throw new Error('boom');
    });
    const row = () => db.kysely.selectFrom('queue_items').selectAll().where('message_id', '=', item.messageId).executeTakeFirstOrThrow();
    await waitFor(async () => (await row()).attempt === 2, 'thrown handler retried');
    expect((await row()).available_at).toBeGreaterThanOrEqual(before + 1000);
    await queue.close();
  });

  test('dead-letter with reason and attempts, then replay', async () => {
    const destination = unique();
    const queue = new EmbeddedQueue(db, { keys });
    await queue.start([{ destination, bindings: ['#'], concurrency: 2 }]);
    const poison = envelope(1, { partitionKey: 'a' });
    const other = envelope(2, { partitionKey: 'b' });
    await queue.publish([poison, other]);
    let replayed = false;
    const delivered: Delivery[] = [];
    await queue.consume(destination, async (d) => {
      delivered.push(d);
      if (replayed) return { kind: 'done' };
      if (d.attempt < 3) return { kind: 'retry', delayMs: 0, reason: 'DeliveryError: HTTP 503' };
      return { kind: 'dead-letter', reason: `DeliveryError: gave up after ${d.attempt} attempts` };
    });
    await waitFor(async () => (await queue.listDeadLetters(destination)).length === 2, 'dead letters');
    expect(await queue.depth(destination)).toBe(0);
    // Two partitions run in parallel, so either may have been dead-lettered first.
    const letters = (await queue.listDeadLetters(destination)).sort((a, b) => a.envelope.body.localeCompare(b.envelope.body));
    expect(letters.map((l) => [l.envelope, l.reason, l.attempts])).toEqual([
      [poison, 'DeliveryError: gave up after 3 attempts', 3],
      [other, 'DeliveryError: gave up after 3 attempts', 3],
    ]);
    expect(letters[0].deadLetteredAt).toBeInstanceOf(Date);
    expect(await queue.listDeadLetters(destination, 1)).toHaveLength(1);

    replayed = true;
    delivered.length = 0;
    expect(await queue.replayDeadLetters(destination, [other.messageId])).toBe(1);
    await waitFor(() => delivered.length === 1, 'replayed delivery');
    expect(delivered[0]).toEqual({ envelope: other, destination, attempt: 1 });
    expect((await queue.listDeadLetters(destination)).map((l) => l.envelope.messageId)).toEqual([poison.messageId]);
    expect(await queue.replayDeadLetters(destination)).toBe(1);
    await waitFor(async () => delivered.length === 2 && (await queue.depth(destination)) === 0, 'replay all');
    expect(await queue.listDeadLetters(destination)).toEqual([]);
    expect(await queue.replayDeadLetters(destination)).toBe(0);
    await queue.close();
  });

  test('a dead-lettered item unblocks its partition; a replayed one joins the end', async () => {
    const destination = unique();
    const queue = new EmbeddedQueue(db, { keys });
    await queue.start([{ destination, bindings: ['#'], concurrency: 4 }]);
    const [first, second, third] = [1, 2, 3].map((n) => envelope(n, { partitionKey: 'same-person' }));
    await queue.publish([first, second]);
    const order: string[] = [];
    let replayedOnce = false;
    await queue.consume(destination, async (d) => {
      order.push(d.envelope.messageId);
      if (d.envelope.messageId === first.messageId && !replayedOnce) return { kind: 'dead-letter', reason: 'ValidationError: bad' };
      return { kind: 'done' };
    });
    await waitFor(() => order.length === 2, 'first two deliveries');
    expect(order).toEqual([first.messageId, second.messageId]);
    await queue.publish([third]);
    await waitFor(async () => (await queue.depth(destination)) === 0, 'third delivered');
    replayedOnce = true;
    expect(await queue.replayDeadLetters(destination)).toBe(1);
    await waitFor(() => order.length === 4, 'replayed delivery');
    expect(order).toEqual([first.messageId, second.messageId, third.messageId, first.messageId]);
    await waitFor(async () => (await queue.depth(destination)) === 0, 'replayed item done');
    await queue.close();
  });

  test('an unreadable payload is dead-lettered, not lost', async () => {
    const destination = unique();
    const writer = new EmbeddedQueue(db, { keys });
    await writer.start([{ destination, bindings: ['#'], concurrency: 1 }]);
    const item = envelope(1);
    await writer.publish([item]);
    await writer.close();
    const wrongKeys = new EmbeddedQueue(db, { keys: parseContentKeys(`q2:${crypto.randomBytes(32).toString('base64')}`) });
    await wrongKeys.start([{ destination, bindings: ['#'], concurrency: 1 }]);
    let called = false;
    await wrongKeys.consume(destination, async () => {
      called = true;
      return { kind: 'done' };
    });
    await waitFor(async () => (await wrongKeys.depth(destination)) === 0, 'dead-lettered');
    await wrongKeys.close();
    expect(called).toBe(false);
    const [letter] = await writer.listDeadLetters(destination);
    expect(letter.reason).toMatch(/^ConfigError: content key "q1" is not configured/);
    expect(letter.envelope).toEqual(item);
  });

  test('per-partition order holds for 1,000 items over 20 partitions with concurrency and retries', async () => {
    const destination = unique();
    const concurrency = 8;
    const queue = new EmbeddedQueue(db, { keys });
    await queue.start([{ destination, bindings: ['hl7v2.#'], concurrency }]);
    const items = Array.from({ length: 1000 }, (_, i) => envelope(i, { partitionKey: `patient-${i % 20}` }));
    // Concurrent publish calls: publish order is call order.
    const batches = Array.from({ length: 20 }, (_, b) => items.slice(b * 50, b * 50 + 50));
    await Promise.all(batches.map((batch) => queue.publish(batch)));

    const donePerPartition = new Map<string, string[]>();
    const inFlightPartitions = new Set<string>();
    let inFlight = 0;
    let maxInFlight = 0;
    const violations: string[] = [];
    await queue.consume(destination, async (d) => {
      const partition = d.envelope.partitionKey;
      if (inFlightPartitions.has(partition)) violations.push(`two in flight for ${partition}`);
      inFlightPartitions.add(partition);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      inFlight--;
      inFlightPartitions.delete(partition);
      if (d.attempt === 1 && Math.random() < 0.1) return { kind: 'retry', delayMs: 5, reason: 'DeliveryError: flaky' };
      donePerPartition.set(partition, [...(donePerPartition.get(partition) ?? []), d.envelope.messageId]);
      return { kind: 'done' };
    });
    await waitFor(async () => (await queue.depth(destination)) === 0, '1,000 deliveries', 60_000);
    await queue.close();

    expect(violations).toEqual([]);
    expect(maxInFlight).toBeLessThanOrEqual(concurrency);
    expect(maxInFlight).toBeGreaterThan(1);
    for (let p = 0; p < 20; p++) {
      const expected = items.filter((e) => e.partitionKey === `patient-${p}`).map((e) => e.messageId);
      expect(donePerPartition.get(`patient-${p}`)).toEqual(expected);
    }
  });
});
