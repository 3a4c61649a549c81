// HL7 intake over PostgreSQL + RabbitMQ publishes a message while storing it and ACKs once both
// are done (channels/stored-after-publish.ts). The consumer must then deliver only what was
// stored: a copy published for a duplicate, or for a message whose write failed or never
// happened, is dropped; a message stored a little after its publish is delivered.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RabbitQueue } from '../../adapters/queue/rabbitmq.js';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import { SqlMessageStore } from '../../adapters/store/message-store.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import type { ChannelDefinition, MllpSourceConfig } from '../../channels/definition.js';
import { createDispatcher } from '../../channels/dispatch.js';
import { Hl7Intake } from '../../channels/hl7-intake.js';
import { DISCARD_AFTER_MS, PendingReceives, REPUBLISH_AFTER_MS, STORED_AFTER_PUBLISH, storedForDelivery } from '../../channels/stored-after-publish.js';
import type { DeliveryQueue, Envelope } from '../../core/queue.js';
import { newMessageId, type MessageStore } from '../../core/store.js';
import { eventually } from '../support/engine.js';
import { createTestVhost, type TestVhost } from '../support/rabbit.js';
import { createBackend, type TestBackend } from './store-backends.js';

const keys = parseContentKeys(`sap:${crypto.randomBytes(32).toString('base64')}`);

function adt(controlId: string, pid = '9434765919'): Buffer {
  return Buffer.from(`MSH|^~\\&|PAS|RCB|TRAMLINE|LA123|20260615093000||ADT^A01^ADT_A01|${controlId}|P|2.4\rEVN|A01|20260615093000\rPID|1||${pid}^^^NHS^NH||TESTPERSON^ALEX||19700101|U\rPV1|1|I|WARD1\r`, 'latin1');
}

const msa = (ack: Buffer | null) => ack?.toString('latin1').split('\r').find((l) => l.startsWith('MSA|'))?.split('|')[1];

function envelopeFor(messageId: string, marked: boolean): Envelope {
  return { messageId, channel: 'adt', routingKey: 'adt.hl7v2.ADT.A01.RCB', partitionKey: crypto.randomBytes(4).toString('hex'), body: 'x', headers: marked ? { [STORED_AFTER_PUBLISH]: '1' } : {} };
}

describe('publishing ahead of the store commit (PostgreSQL + RabbitMQ)', () => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let store: SqlMessageStore;
  let vhost: TestVhost;
  const queues: RabbitQueue[] = [];

  beforeAll(async () => {
    backend = createBackend('postgres');
    db = await backend.openMigrated();
    store = new SqlMessageStore(db, keys);
    vhost = await createTestVhost('ahead');
  });

  afterAll(async () => {
    for (const q of queues) await q.close();
    await store?.close();
    await db?.close();
    await backend?.cleanup();
    await vhost?.remove();
  });

  /** An intake and a consumer of one destination, as the engine wires them; deliveries recorded. */
  async function pipeline(label: string, storeFor: (s: MessageStore) => MessageStore = (s) => s) {
    const queue = new RabbitQueue({ url: vhost.url, prefix: vhost.prefix(label), partitions: 2 });
    queues.push(queue);
    const destination = `${label}.inbox`;
    await queue.start([{ destination, bindings: ['#'], concurrency: 4 }]);
    const published: Envelope[] = [];
    const observed = new Proxy(queue, {
      get(target, prop, receiver) {
        if (prop === 'publish') return (envelopes: Envelope[]) => (published.push(...envelopes), target.publish(envelopes));
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as DeliveryQueue;
    const pending = new PendingReceives();
    const delivered: Envelope[] = [];
    const channel: ChannelDefinition & { source: MllpSourceConfig } = {
      id: label,
      enabled: true,
      file: 'test.yaml',
      destinations: [],
      source: { type: 'mllp', host: '127.0.0.1', port: 0, maxMessageBytes: 1 << 20, idleTimeoutMs: 0, maxConnections: 5, ackMode: 'auto', whenQueueDown: 'store-and-ack' },
    };
    const intake = new Hl7Intake({ channel, store: storeFor(store), queue: observed, publishAhead: pending });
    const handler = createDispatcher({
      destinationId: destination,
      destination: { open: async () => undefined, close: async () => undefined, deliver: async (e) => void delivered.push(e) },
      store,
      retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 100, multiplier: 2 },
      pendingReceives: pending,
    });
    await queue.consume(destination, handler);
    return { intake, published, delivered };
  }

  test('a message is published marked while it is stored, and delivered once; its duplicate is ACKed and never delivered', async () => {
    const { intake, published, delivered } = await pipeline('dup');
    expect(msa(await intake.handle(adt('DUP-1')))).toBe('AA');
    expect(msa(await intake.handle(adt('DUP-1')))).toBe('AA');
    expect(published).toHaveLength(2);
    expect(published.every((e) => e.headers[STORED_AFTER_PUBLISH] === '1')).toBe(true);
    const [first, second] = published.map((e) => e.messageId);
    expect(await store.isStored(first)).toBe(true);
    expect(await store.isStored(second)).toBe(false);
    await eventually(async () => (delivered.length >= 1 ? true : undefined), 20_000, 'the delivery');
    // The duplicate's copy is known to this process as not stored: dropped at once. Give it time to show.
    await new Promise((r) => setTimeout(r, 1000));
    expect(delivered.map((e) => e.messageId)).toEqual([first]);
    expect((await store.get(first))?.destinations.map((d) => [d.destination, d.status])).toEqual([['dup.inbox', 'sent']]);
  }, 60_000);

  test('a write slower than the bound gets an unmarked copy published before its ACK', async () => {
    // A store whose receive is slow (a busy database): the marked copy may have been given up on.
    const slow = (s: MessageStore): MessageStore =>
      new Proxy(s, {
        get(target, prop, receiver) {
          if (prop === 'receive') return async (m: Parameters<MessageStore['receive']>[0]) => (await new Promise((r) => setTimeout(r, REPUBLISH_AFTER_MS + 200)), target.receive(m));
          const value: unknown = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    const { intake, published, delivered } = await pipeline('slow', slow);
    expect(msa(await intake.handle(adt('SLOW-1')))).toBe('AA');
    expect(published).toHaveLength(2);
    expect(published[0].messageId).toBe(published[1].messageId);
    expect(published[0].headers[STORED_AFTER_PUBLISH]).toBe('1');
    expect(published[1].headers[STORED_AFTER_PUBLISH]).toBeUndefined();
    // At least once: this process knew the marked copy was stored, so both copies go out.
    await eventually(async () => (delivered.length >= 2 ? true : undefined), 20_000, 'both deliveries');
    expect(new Set(delivered.map((e) => e.messageId))).toEqual(new Set([published[0].messageId]));
  }, 60_000);

  test('a failed store write answers AR; its published copy is dropped once the store shows it was never stored', async () => {
    const failing = (s: MessageStore): MessageStore =>
      new Proxy(s, {
        get(target, prop, receiver) {
          if (prop === 'receive') return async () => Promise.reject(new Error('database unavailable'));
          const value: unknown = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    const { intake, published, delivered } = await pipeline('fail', failing);
    expect(msa(await intake.handle(adt('FAIL-1')))).toBe('AR');
    expect(published).toHaveLength(1);
    expect(await store.isStored(published[0].messageId)).toBe(false);
    // The consumer looks in the store until the bound (10 s) is up, then drops it.
    await new Promise((r) => setTimeout(r, DISCARD_AFTER_MS + 2000));
    expect(delivered).toEqual([]);
  }, 60_000);

  test('a consumer without the intake\'s knowledge looks in the store: delivers what is stored, even late, and drops what never is', async () => {
    const unknownHere = newMessageId();
    const t0 = Date.now();
    expect(await storedForDelivery(envelopeFor(unknownHere, true), store, new PendingReceives(), 'x', { discardAfterMs: 300 })).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);

    const late = newMessageId();
    const storing = new Promise((r) => setTimeout(r, 150)).then(() => store.receive({ id: late, channel: 'adt', receivedAt: new Date(), sender: 'PAS', controlId: 'LATE-1', status: 'received', raw: adt('LATE-1') }));
    expect(await storedForDelivery(envelopeFor(late, true), store, undefined, 'x', { discardAfterMs: 5000 })).toBe(true);
    await storing;

    // An unmarked envelope (published after its commit, or by the backlog) needs no look.
    expect(await storedForDelivery(envelopeFor(newMessageId(), false), store, undefined, 'x', { discardAfterMs: 0 })).toBe(true);

    // The intake's write failed: it may have committed all the same, so the store decides.
    const failedHere = new PendingReceives();
    const failedId = newMessageId();
    await store.receive({ id: failedId, channel: 'adt', receivedAt: new Date(), sender: 'PAS', controlId: 'FAILED-1', status: 'received', raw: adt('FAILED-1') });
    const failure = Promise.reject(new Error('connection lost after commit'));
    failure.catch(() => undefined);
    failedHere.track(failedId, failure);
    expect(await storedForDelivery(envelopeFor(failedId, true), store, failedHere, 'x', { discardAfterMs: 300 })).toBe(true);
  }, 30_000);
});
