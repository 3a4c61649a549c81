// Retry policy end to end over the real embedded queue and store: a destination that fails
// for a while recovers through retries; a permanent failure dead-letters at once with its
// reason; a dead letter replays once the cause is fixed.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Destination } from '../../adapters/types.js';
import { createDispatcher } from '../../channels/dispatch.js';
import { DeliveryError } from '../../core/errors.js';
import { EmbeddedQueue } from '../../adapters/queue/embedded.js';
import type { Envelope } from '../../core/queue.js';
import { backoffDelay, outcomeForFailure } from '../../channels/retry.js';
import { openStore, type OpenedStore } from '../../server/open-store.js';
import { eventually } from '../support/engine.js';

/** A destination whose behaviour the test scripts: fail with `failures` in order, then succeed. */
class ScriptedDestination implements Destination {
  delivered: string[] = [];
  constructor(public failures: DeliveryError[]) {}
  async open() {}
  async close() {}
  async deliver(envelope: Envelope) {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.delivered.push(envelope.messageId);
    return undefined;
  }
}

const policy = { maxAttempts: 4, initialDelayMs: 20, maxDelayMs: 200, multiplier: 2 };

describe('retry policy', () => {
  test('backoff grows exponentially with jitter, capped', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(policy, a, mid))).toEqual([20, 40, 80, 160, 200]);
    expect(backoffDelay(policy, 1, () => 0)).toBe(16);
    expect(backoffDelay(policy, 1, () => 1)).toBe(24);
  });

  test('outcomes: retryable retries, permanent and exhausted dead-letter, Retry-After honoured', () => {
    expect(outcomeForFailure(new DeliveryError('503', true), 1, policy)).toMatchObject({ kind: 'retry' });
    expect(outcomeForFailure(new DeliveryError('400 bad', false), 1, policy)).toEqual({ kind: 'dead-letter', reason: 'permanent: DeliveryError: 400 bad' });
    expect(outcomeForFailure(new DeliveryError('503', true), 4, policy)).toEqual({ kind: 'dead-letter', reason: 'gave up after 4 attempts: DeliveryError: 503' });
    expect(outcomeForFailure(new DeliveryError('429', true, undefined, 150), 1, policy)).toEqual({ kind: 'retry', delayMs: 150, reason: 'DeliveryError: 429' });
    expect(outcomeForFailure(new Error('socket hang up'), 1, policy)).toMatchObject({ kind: 'retry' });
  });
});

describe('dispatcher over the embedded queue', () => {
  let opened: OpenedStore;
  let queue: EmbeddedQueue;
  const flaky = new ScriptedDestination([new DeliveryError('503 unavailable', true), new DeliveryError('503 unavailable', true)]);
  const strict = new ScriptedDestination([new DeliveryError('400 rejected', false)]);

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-dispatch-'));
    opened = await openStore({ dbUrl: `sqlite:${path.join(dir, 's.db')}`, dataDir: dir });
    queue = new EmbeddedQueue(opened.db, { keys: opened.keys, pollIntervalMs: 20 });
    await queue.start([
      { destination: 'c.flaky', bindings: ['c.flaky.#'], concurrency: 2 },
      { destination: 'c.strict', bindings: ['c.strict.#'], concurrency: 2 },
    ]);
    for (const [id, dest] of [['c.flaky', flaky], ['c.strict', strict]] as const) {
      await queue.consume(id, createDispatcher({ destinationId: id, destination: dest, store: opened.store, retry: policy }));
    }
  });

  afterAll(async () => {
    await queue.close();
    await opened.store.close();
    await opened.db.close();
  });

  async function storeMessage(controlId: string) {
    const { id } = await opened.store.receive({ channel: 'c', receivedAt: new Date(), sender: 'T', controlId, status: 'received', raw: 'MSH|x' });
    return id;
  }

  const envelope = (messageId: string, key: string): Envelope => ({ messageId, channel: 'c', routingKey: key, partitionKey: messageId, body: 'MSH|x', headers: {} });

  test('a destination that fails twice with 503 recovers through retries', async () => {
    const id = await storeMessage('R1');
    await queue.publish([envelope(id, 'c.flaky.x')]);
    await eventually(async () => flaky.delivered.includes(id));
    const m = await eventually(async () => {
      const r = await opened.store.get(id);
      return r?.destinations[0]?.status === 'sent' ? r : undefined;
    });
    expect(m.destinations[0]).toMatchObject({ destination: 'c.flaky', status: 'sent', attempts: 3 });
    const events = (await opened.store.events(id)).map((e) => e.event);
    expect(events.filter((e) => e === 'retrying')).toHaveLength(2);
  });

  test('a permanent failure dead-letters at once with the reason, and replays once fixed', async () => {
    const id = await storeMessage('P1');
    await queue.publish([envelope(id, 'c.strict.x')]);
    const dead = await eventually(async () => {
      const d = await queue.listDeadLetters('c.strict');
      return d.length ? d : undefined;
    });
    expect(dead[0]).toMatchObject({ destination: 'c.strict', attempts: 1, reason: 'permanent: DeliveryError: 400 rejected' });
    expect((await opened.store.get(id))?.destinations[0]).toMatchObject({ status: 'dead-lettered', error: 'permanent: DeliveryError: 400 rejected' });

    // The cause is fixed (the scripted failure is used up): replay delivers it.
    expect(await queue.replayDeadLetters('c.strict')).toBe(1);
    await eventually(async () => strict.delivered.includes(id));
    await eventually(async () => (await opened.store.get(id))?.destinations[0]?.status === 'sent');
    const events = (await opened.store.events(id)).map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['received', 'dead-lettered']));
  });
});
