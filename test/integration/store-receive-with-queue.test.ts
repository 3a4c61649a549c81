// The embedded queue in the store's SQLite database publishes in the same commit as the
// message's receive (one fsync before the ACK): only a message the receive stored is queued,
// whatever else shares the transaction. On PostgreSQL the queue does not offer it.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { EmbeddedQueue } from '../../adapters/queue/embedded.js';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import { SqlMessageStore } from '../../adapters/store/message-store.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import type { Envelope } from '../../core/queue.js';
import { newMessageId, type NewMessage } from '../../core/store.js';
import { createBackend, type TestBackend } from './store-backends.js';

const keys = parseContentKeys(`rq:${crypto.randomBytes(32).toString('base64')}`);

function message(controlId: string, id?: string): NewMessage {
  return { ...(id ? { id } : {}), channel: 'adt', receivedAt: new Date(), sender: 'PAS', controlId, messageType: 'ADT^A01', status: 'received', raw: `MSH|^~\\&|PAS|||||ADT^A01|${controlId}|P|2.4` };
}

function envelopeFor(messageId: string, partitionKey = crypto.randomBytes(4).toString('hex')): Envelope {
  return { messageId, channel: 'adt', routingKey: 'hl7v2.ADT.A01', partitionKey, body: 'x', headers: {} };
}

describe('publishWithReceive on SQLite', () => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let store: SqlMessageStore;
  let queue: EmbeddedQueue;
  const destination = `d${crypto.randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    backend = createBackend('sqlite');
    db = await backend.openMigrated();
    store = new SqlMessageStore(db, keys);
    queue = new EmbeddedQueue(db, { keys });
    await queue.start([{ destination, bindings: ['hl7v2.#'], concurrency: 1 }]);
  });

  afterAll(async () => {
    await queue?.close();
    await store?.close();
    await db?.close();
    await backend?.cleanup();
  });

  const queuedIds = async () => (await db.kysely.selectFrom('queue_items').select('message_id').where('destination', '=', destination).execute()).map((r) => r.message_id);

  test('a stored message is queued in its own commit; a duplicate is stored once and queued never', async () => {
    const first = newMessageId();
    const again = newMessageId();
    const publish = queue.publishWithReceive!;
    const [stored, queuedFirst, duplicate, queuedAgain] = await Promise.all([store.receive(message('DUP1', first)), publish([envelopeFor(first)]), store.receive(message('DUP1', again)), publish([envelopeFor(again)])]);
    expect(stored).toEqual({ id: first, duplicate: false });
    expect(duplicate).toEqual({ id: first, duplicate: true });
    expect(queuedFirst.map((e) => e.messageId)).toEqual([first]);
    expect(queuedAgain).toEqual([]);
    expect(await queuedIds()).toEqual([first]);
    const rows = await db.kysely.selectFrom('messages').select('id').where('control_id', '=', 'DUP1').execute();
    expect(rows.map((r) => r.id)).toEqual([first]);
  });

  test('a plain publish earlier in the same transaction does not put the stored message behind its receive', async () => {
    // The earlier publish makes the queue's write the first kind in the batch: the guarded
    // publish must still run after the receive, or it would find no message and queue nothing.
    const earlier = newMessageId();
    const id = newMessageId();
    const before = await queuedIds();
    await Promise.all([queue.publish([envelopeFor(earlier)]), store.receive(message('ORDER1', id)), queue.publishWithReceive!([envelopeFor(id)])]);
    expect((await queuedIds()).filter((m) => !before.includes(m)).sort()).toEqual([earlier, id].sort());
  });

  test('a receive that fails queues nothing', async () => {
    const id = newMessageId();
    const before = await queuedIds();
    // A status the messages table refuses (CHECK constraint) fails the receive.
    const bad = { ...message('FAIL1', id), channel: null } as unknown as NewMessage;
    const [received, published] = await Promise.allSettled([store.receive(bad), queue.publishWithReceive!([envelopeFor(id)])]);
    expect(received.status).toBe('rejected');
    expect(published).toEqual({ status: 'fulfilled', value: [] });
    expect(await queuedIds()).toEqual(before);
  });
});

describe('publishWithReceive elsewhere', () => {
  test('the queue on PostgreSQL publishes after the receive instead (no shared commit)', async () => {
    const backend = createBackend('postgres');
    const db = await backend.openMigrated();
    try {
      expect(new EmbeddedQueue(db, { keys }).publishWithReceive).toBeUndefined();
      // A queue with its own batch size is not on the database's shared writer either.
      const sqlite = createBackend('sqlite');
      const sdb = await sqlite.openMigrated();
      expect(new EmbeddedQueue(sdb, { keys, maxBatch: 10 }).publishWithReceive).toBeUndefined();
      await sdb.close();
      await sqlite.cleanup();
    } finally {
      await db.close();
      await backend.cleanup();
    }
  });
});
