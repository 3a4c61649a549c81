// The patient index: `messages.patient_key` holds keyed hashes only, searches by NHS number
// still find, another index key finds nothing, and rows (and queue partitions) stored in
// clear by earlier versions are rehashed at start.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseContentKeys, type ContentKeyRing } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import { SqlMessageStore } from '../../adapters/store/message-store.js';
import { rehashPatientKeys } from '../../adapters/store/patient-key-rehash.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { sealedColumnsOf, toQueueItem } from '../../adapters/queue/embedded-rows.js';
import type { NewMessage } from '../../core/store.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

const NHS = '9434765919';
const keyA = crypto.randomBytes(32);
const keyB = crypto.randomBytes(32);
const ring = parseContentKeys(`a:${keyA.toString('base64')}`);

function adt(overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    channel: 'adt-in',
    receivedAt: new Date(),
    sender: 'RCB',
    controlId: crypto.randomUUID(),
    messageType: 'ADT^A01',
    patientKey: `nhs:${NHS}`,
    status: 'received',
    raw: 'MSH|^~\\&|PAS|RCB|||20261126102500||ADT^A01|1|P|2.4',
    ...overrides,
  };
}

describe.each(BACKENDS)('patient index on %s', (backendName) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let store: SqlMessageStore;
  const stores: SqlMessageStore[] = [];
  const storeWith = (keys: ContentKeyRing) => {
    const s = new SqlMessageStore(db, keys);
    stores.push(s);
    return s;
  };
  const rowOf = (id: string) => db.kysely.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  beforeAll(async () => {
    backend = createBackend(backendName);
    db = await backend.openMigrated();
    store = storeWith(ring);
  });

  afterAll(async () => {
    for (const s of stores) await s.close();
    await db?.close();
    await backend?.cleanup();
  });

  test('the stored row never holds the NHS number; search by it finds the message; get shows it', async () => {
    const { id } = await store.receive(adt());
    const row = await rowOf(id);
    expect(row.patient_key).toMatch(/^h1:[A-Za-z0-9_-]{43}$/);
    expect(Object.values(row).filter((v) => typeof v === 'string' && v.includes(NHS))).toEqual([]);
    expect(row.patient_key_sealed).not.toBeNull();

    expect((await store.list({ patientKey: `nhs:${NHS}` })).map((m) => m.id)).toContain(id);
    expect((await store.list({ patientKey: 'nhs:9990000018' })).map((m) => m.id)).not.toContain(id);
    expect((await store.get(id))?.patientKey).toBe(`nhs:${NHS}`);
    const listed = (await store.list({ patientKey: `nhs:${NHS}` })).find((m) => m.id === id);
    expect(listed?.patientKey).toBe(`nhs:${NHS}`);
  });

  test('a message without a patient has neither column', async () => {
    const { id } = await store.receive(adt({ patientKey: undefined }));
    const row = await rowOf(id);
    expect([row.patient_key, row.patient_key_sealed]).toEqual([null, null]);
    expect((await store.get(id))?.patientKey).toBeUndefined();
  });

  test('with TRAMLINE_INDEX_KEY the hash is that key\'s; another index key finds nothing', async () => {
    const indexed = storeWith({ ...ring, indexKey: crypto.randomBytes(32) });
    const { id } = await indexed.receive(adt({ patientKey: 'group:CLD-77' }));
    expect((await indexed.list({ patientKey: 'group:CLD-77' })).map((m) => m.id)).toEqual([id]);
    expect(await store.list({ patientKey: 'group:CLD-77' })).toEqual([]);
    const other = storeWith({ ...ring, indexKey: crypto.randomBytes(32) });
    expect(await other.list({ patientKey: 'group:CLD-77' })).toEqual([]);
    // The sealed key still opens with the content key, whatever the index key.
    expect((await other.get(id))?.patientKey).toBe('group:CLD-77');
  });

  test('derived index keys: a rotated content key still finds rows hashed before', async () => {
    const { id } = await store.receive(adt({ patientKey: 'nhs:9912003888' }));
    const rotated = storeWith(parseContentKeys(`b:${keyB.toString('base64')},a:${keyA.toString('base64')}`));
    expect((await rotated.list({ patientKey: 'nhs:9912003888' })).map((m) => m.id)).toEqual([id]);
    const { id: fresh } = await rotated.receive(adt({ patientKey: 'nhs:9912003888' }));
    expect((await rotated.list({ patientKey: 'nhs:9912003888' })).map((m) => m.id)).toEqual([fresh, id]);
  });

  test('setting TRAMLINE_INDEX_KEY later: rows hashed before are still found, new ones use it', async () => {
    const { id } = await store.receive(adt({ patientKey: 'nhs:9449305552' }));
    const indexed = storeWith({ ...ring, indexKey: crypto.randomBytes(32) });
    const { id: fresh } = await indexed.receive(adt({ patientKey: 'nhs:9449305552' }));
    expect((await indexed.list({ patientKey: 'nhs:9449305552' })).map((m) => m.id)).toEqual([fresh, id]);
    expect((await rowOf(fresh)).patient_key).toBe(indexed.partitionKeyOf('nhs:9449305552'));
    expect(indexed.partitionKeyOf('nhs:9449305552')).not.toBe(store.partitionKeyOf('nhs:9449305552'));
  });

  test('partition keys are keyed hashes: stable per patient, never the key', () => {
    const key = store.partitionKeyOf(`nhs:${NHS}`);
    expect(key).toMatch(/^h1:/);
    expect(key).not.toContain(NHS);
    expect(storeWith(ring).partitionKeyOf(`nhs:${NHS}`)).toBe(key);
    expect(store.partitionKeyOf('nhs:9449305552')).not.toBe(key);
  });

  test('rehash converts rows and queue partitions stored in clear, in batches, once', async () => {
    const legacy: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = crypto.randomUUID();
      legacy.push(id);
      await db.kysely
        .insertInto('messages')
        .values({ id, channel: 'old', received_at: Date.now() - i, sender: 'RCB', control_id: null, message_type: 'ADT^A01', patient_key: `nhs:${NHS}`, patient_key_sealed: null, status: 'sent', error: null, updated_at: 0 })
        .execute();
    }
    const envelope = { messageId: legacy[0], channel: 'old', routingKey: 'old.hl7v2', body: 'x', headers: {} };
    await db.kysely.insertInto('queue_items').values({ ...toQueueItem(ring, { ...envelope, partitionKey: `nhs:${NHS}` }, 'old.d', 0), head: 1 }).execute();
    await db.kysely.insertInto('queue_items').values({ ...toQueueItem(ring, { ...envelope, partitionKey: `msg:${legacy[1]}` }, 'old.d', 0), head: 1 }).execute();
    const sealed = sealedColumnsOf(toQueueItem(ring, { ...envelope, partitionKey: `nhs:${NHS}` }, 'old.d', 0));
    await db.kysely.insertInto('dead_letters').values({ ...sealed, attempts: 3, reason: 'r', dead_lettered_at: 0 }).execute();
    // The old plain key is still returned before the rehash reaches the row.
    expect((await store.get(legacy[0]))?.patientKey).toBe(`nhs:${NHS}`);

    expect(await rehashPatientKeys(db, ring, { batch: 2 })).toEqual({ messages: 5, queueItems: 1, deadLetters: 1 });
    for (const id of legacy) {
      const row = await rowOf(id);
      expect(row.patient_key).toBe(store.partitionKeyOf(`nhs:${NHS}`));
      expect((await store.get(id))?.patientKey).toBe(`nhs:${NHS}`);
    }
    expect((await store.list({ channel: 'old', patientKey: `nhs:${NHS}` })).map((m) => m.id).sort()).toEqual([...legacy].sort());
    const partitions = (await db.kysely.selectFrom('queue_items').select('partition_key').where('message_id', '=', legacy[0]).orderBy('seq').execute()).map((r) => r.partition_key);
    expect(partitions).toEqual([store.partitionKeyOf(`nhs:${NHS}`), `msg:${legacy[1]}`]);
    const dead = await db.kysely.selectFrom('dead_letters').select('partition_key').where('message_id', '=', legacy[0]).executeTakeFirstOrThrow();
    expect(dead.partition_key).toBe(store.partitionKeyOf(`nhs:${NHS}`));

    // Idempotent: nothing left to do, and hashed rows are left as they are.
    const before = await rowOf(legacy[0]);
    expect(await rehashPatientKeys(db, ring)).toEqual({ messages: 0, queueItems: 0, deadLetters: 0 });
    expect(await rowOf(legacy[0])).toEqual(before);
  });
});
