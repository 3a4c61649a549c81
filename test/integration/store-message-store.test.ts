import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import { SqlMessageStore } from '../../adapters/store/message-store.js';
import type { MessageStore } from '../../core/store.js';
import { migrateToLatest } from '../../adapters/store/migrations/index.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import type { NewMessage } from '../../core/store.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

const keyA = crypto.randomBytes(32);
const keyB = crypto.randomBytes(32);
const ring = parseContentKeys(`a:${keyA.toString('base64')}`);

// Synthetic person; the surname is what we look for in the raw database bytes.
const SECRET_NAME = 'QUILLFEATHERSTONE';
const ADT = [
  'MSH|^~\\&|PAS|RCB|TRAMLINE|COUNCIL|20261126102500||ADT^A01|MSG00001|P|2.4',
  `PID|1||9434765919^^^NHS^NH||${SECRET_NAME}^Alyssa^^^Ms||19800101|F`,
].join('\r');

function adt(overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    channel: 'adt-in',
    receivedAt: new Date(),
    sender: 'RCB',
    controlId: crypto.randomUUID(),
    messageType: 'ADT^A01',
    patientKey: '9434765919',
    status: 'received',
    raw: ADT,
    ...overrides,
  };
}

describe.each(BACKENDS)('MessageStore on %s', (backendName) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let store: MessageStore;

  beforeAll(async () => {
    backend = createBackend(backendName);
    db = await backend.openMigrated();
    store = new SqlMessageStore(db, ring);
  });

  afterAll(async () => {
    await store?.close();
    await db?.close();
    await backend?.cleanup();
  });

  test('migrations are idempotent', async () => {
    expect(await migrateToLatest(db.kysely, db.schema)).toEqual([]);
    const again = await backend.open();
    try {
      expect(await migrateToLatest(again.kysely, again.schema)).toEqual([]);
    } finally {
      await again.close();
    }
  });

  test('receive stores metadata, encrypted raw content and a received event', async () => {
    const receivedAt = new Date('2026-11-26T10:25:00.123Z');
    const result = await store.receive(adt({ receivedAt, controlId: 'MSG00001' }));
    expect(result.duplicate).toBe(false);
    expect(result.id).toMatch(/^[0-9a-f-]{36}$/);

    const record = await store.get(result.id);
    expect(record).toEqual({
      id: result.id,
      channel: 'adt-in',
      receivedAt,
      sender: 'RCB',
      controlId: 'MSG00001',
      messageType: 'ADT^A01',
      patientKey: '9434765919',
      status: 'received',
      destinations: [],
    });
    expect((await store.readContent(result.id, 'raw'))?.toString('utf8')).toBe(ADT);
    expect((await store.events(result.id)).map((e) => e.event)).toEqual(['received']);
    expect(await store.get('no-such-id')).toBeUndefined();
    expect(await store.readContent(result.id, 'transformed')).toBeUndefined();
  });

  test('duplicate (channel, sender, control id) returns the original id', async () => {
    const first = await store.receive(adt({ controlId: 'DUP-1' }));
    const again = await store.receive(adt({ controlId: 'DUP-1', raw: 'different body' }));
    expect(again).toEqual({ id: first.id, duplicate: true });
    expect((await store.readContent(first.id, 'raw'))?.toString()).toBe(ADT);
    expect((await store.events(first.id)).map((e) => e.event)).toEqual(['received', 'duplicate']);

    // Another sender, another channel, or no control id: not duplicates.
    expect((await store.receive(adt({ controlId: 'DUP-1', sender: 'RGT' }))).duplicate).toBe(false);
    expect((await store.receive(adt({ controlId: 'DUP-1', channel: 'adt-other' }))).duplicate).toBe(false);
    const noId1 = await store.receive(adt({ controlId: undefined }));
    const noId2 = await store.receive(adt({ controlId: undefined }));
    expect(noId1.id).not.toBe(noId2.id);
    expect(noId2.duplicate).toBe(false);

    // Without a sender the key still applies.
    const anon = await store.receive(adt({ controlId: 'ANON-1', sender: undefined }));
    expect(await store.receive(adt({ controlId: 'ANON-1', sender: undefined }))).toEqual({ id: anon.id, duplicate: true });
    expect((await store.get(anon.id))?.sender).toBeUndefined();
  });

  test('50 concurrent receives of one control id store exactly one message', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => store.receive(adt({ controlId: 'RACE-1' }))));
    const ids = new Set(results.map((r) => r.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await store.list({ controlId: 'RACE-1' })).toHaveLength(1);
  });

  test('concurrent receives through separate connections still store exactly one', async () => {
    const other = await backend.open();
    const otherStore = new SqlMessageStore(other, ring);
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? store : otherStore).receive(adt({ controlId: 'RACE-2' }))),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    } finally {
      await otherStore.close();
      await other.close();
    }
  });

  test('many concurrent distinct receives are all stored with their own content', async () => {
    const messages = Array.from({ length: 300 }, (_, i) => adt({ controlId: `BULK-${i}`, raw: `body ${i}` }));
    const results = await Promise.all(messages.map((m) => store.receive(m)));
    expect(new Set(results.map((r) => r.id)).size).toBe(300);
    for (const i of [0, 150, 299]) expect((await store.readContent(results[i].id, 'raw'))?.toString()).toBe(`body ${i}`);
  });

  test('content and the patient key are not stored in plaintext', async () => {
    const { id } = await store.receive(adt());
    await store.saveContent(id, 'transformed', JSON.stringify({ name: SECRET_NAME }));
    expect(JSON.parse((await store.readContent(id, 'transformed'))!.toString()).name).toBe(SECRET_NAME);
    if (backend.file) {
      const bytes = Buffer.concat([backend.file, `${backend.file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
      expect(bytes.length).toBeGreaterThan(0);
      expect(bytes.includes(Buffer.from('9434765919'))).toBe(false); // the patient key: a keyed hash and sealed
      expect(bytes.includes(Buffer.from(SECRET_NAME))).toBe(false);
    } else {
      const rows = await db.kysely.selectFrom('message_content').select(['ciphertext']).execute();
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((r) => r.ciphertext.includes(Buffer.from(SECRET_NAME)))).toBe(false);
      const hits = await sql<{ n: number }>`select count(*)::int as n from message_content where position(${Buffer.from(SECRET_NAME)}::bytea in ciphertext) > 0`.execute(db.kysely);
      expect(hits.rows[0].n).toBe(0);
    }
  });

  test('wrong or missing key fails to decrypt; rotated keys keep old content readable', async () => {
    const { id } = await store.receive(adt());
    const wrongKey = new SqlMessageStore(db, parseContentKeys(`a:${keyB.toString('base64')}`));
    await expect(wrongKey.readContent(id, 'raw')).rejects.toThrow(/could not be decrypted with key "a"/);
    const unknownKey = new SqlMessageStore(db, parseContentKeys(`b:${keyB.toString('base64')}`));
    await expect(unknownKey.readContent(id, 'raw')).rejects.toThrow(/content key "a" is not configured/);

    const rotated = new SqlMessageStore(db, parseContentKeys(`b:${keyB.toString('base64')},a:${keyA.toString('base64')}`));
    expect((await rotated.readContent(id, 'raw'))?.toString()).toBe(ADT);
    const fresh = await rotated.receive(adt());
    const row = await db.kysely.selectFrom('message_content').select('key_id').where('message_id', '=', fresh.id).executeTakeFirstOrThrow();
    expect(row.key_id).toBe('b');
    await expect(store.readContent(fresh.id, 'raw')).rejects.toThrow(/content key "b" is not configured/);
    await Promise.all([wrongKey.close(), unknownKey.close(), rotated.close()]);
  });

  test('content rows cannot be swapped between messages', async () => {
    const a = await store.receive(adt({ raw: 'A' }));
    const b = await store.receive(adt({ raw: 'B' }));
    const rowA = await db.kysely.selectFrom('message_content').selectAll().where('message_id', '=', a.id).executeTakeFirstOrThrow();
    await db.kysely
      .updateTable('message_content')
      .set({ key_id: rowA.key_id, iv: rowA.iv, tag: rowA.tag, ciphertext: rowA.ciphertext })
      .where('message_id', '=', b.id)
      .execute();
    await expect(store.readContent(b.id, 'raw')).rejects.toThrow(/could not be decrypted/);
  });

  test('status, destination state and events', async () => {
    const { id } = await store.receive(adt());
    await store.setStatus(id, 'transformed');
    await store.setDestinationStatus(id, 'adt-in.inbox', 'queued');
    await store.setDestinationStatus(id, 'adt-in.rest', 'retrying', { attempts: 2, error: 'DeliveryError: HTTP 503' });
    await store.setDestinationStatus(id, 'adt-in.inbox', 'sent', { attempts: 1 });
    await store.setDestinationStatus(id, 'adt-in.rest', 'errored');
    await store.addEvent(id, 'sent', { destination: 'adt-in.inbox', detail: 'inbox row 1' });
    await store.setStatus(id, 'errored', 'DeliveryError: HTTP 503');

    const record = await store.get(id);
    expect(record?.status).toBe('errored');
    expect(record?.error).toBe('DeliveryError: HTTP 503');
    expect(record?.destinations.map(({ updatedAt: _u, ...d }) => d)).toEqual([
      { destination: 'adt-in.inbox', status: 'sent', attempts: 1 },
      { destination: 'adt-in.rest', status: 'errored', attempts: 2 },
    ]);
    const events = await store.events(id);
    expect(events.map((e) => [e.event, e.destination, e.detail])).toEqual([
      ['received', undefined, undefined],
      ['sent', 'adt-in.inbox', 'inbox row 1'],
    ]);
    expect(events[1].at).toBeInstanceOf(Date);
  });

  test('list filters, newest first, with limit', async () => {
    const channel = `list-${crypto.randomBytes(3).toString('hex')}`;
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await store.receive(
        adt({
          channel,
          receivedAt: new Date(t0 + i * 60_000),
          controlId: `L${i}`,
          messageType: i % 2 ? 'ADT^A03' : 'ADT^A01',
          patientKey: i < 3 ? '9449305552' : '9912003888',
        }),
      );
      ids.push(r.id);
    }
    await store.setStatus(ids[1], 'sent');
    await store.setStatus(ids[4], 'sent');
    await store.setDestinationStatus(ids[2], 'd1', 'dead-lettered', { attempts: 5 });

    const idsOf = async (f: Parameters<MessageStore['list']>[0]) => (await store.list({ channel, ...f })).map((m) => m.id);
    expect(await idsOf({})).toEqual([...ids].reverse());
    expect(await idsOf({ limit: 2 })).toEqual([ids[5], ids[4]]);
    expect(await idsOf({ limit: 2, oldestFirst: true })).toEqual([ids[0], ids[1]]);
    expect(await idsOf({ status: 'sent' })).toEqual([ids[4], ids[1]]);
    expect(await idsOf({ messageType: 'ADT^A03' })).toEqual([ids[5], ids[3], ids[1]]);
    expect(await idsOf({ patientKey: '9449305552' })).toEqual([ids[2], ids[1], ids[0]]);
    expect(await idsOf({ controlId: 'L3' })).toEqual([ids[3]]);
    expect(await idsOf({ from: new Date(t0 + 60_000), to: new Date(t0 + 3 * 60_000) })).toEqual([ids[2], ids[1]]);
    expect(await idsOf({ destinationStatus: 'dead-lettered' })).toEqual([ids[2]]);
    expect((await store.list({ channel, destinationStatus: 'dead-lettered' }))[0].destinations[0].status).toBe('dead-lettered');
    expect(await idsOf({ status: 'sent', patientKey: '9912003888' })).toEqual([ids[4]]);
  });

  test('list pages newest first with `after`, messages of one millisecond neither repeated nor skipped', async () => {
    const channel = `paging-${crypto.randomBytes(3).toString('hex')}`;
    const t0 = Date.parse('2026-11-27T08:00:00Z');
    // Three pairs received in the same millisecond each.
    for (let i = 0; i < 6; i++) await store.receive(adt({ channel, receivedAt: new Date(t0 + Math.floor(i / 2) * 1000), controlId: `P${i}` }));
    const all = (await store.list({ channel })).map((m) => m.id);
    const pages: string[][] = [];
    let after: { receivedAt: Date; id: string } | undefined;
    for (;;) {
      const page = await store.list({ channel, limit: 2 + (pages.length % 2), ...(after ? { after } : {}) });
      if (!page.length) break;
      pages.push(page.map((m) => m.id));
      after = { receivedAt: page[page.length - 1].receivedAt, id: page[page.length - 1].id };
    }
    expect(pages.flat()).toEqual(all);
    expect(pages.map((p) => p.length)).toEqual([2, 3, 1]);
  });

  test('prune deletes old content of one channel and keeps metadata', async () => {
    const channel = `prune-${crypto.randomBytes(3).toString('hex')}`;
    const old = await store.receive(adt({ channel, receivedAt: new Date('2025-01-01T00:00:00Z') }));
    await store.saveContent(old.id, 'transformed', '{}');
    const recent = await store.receive(adt({ channel, receivedAt: new Date() }));
    const otherChannel = await store.receive(adt({ channel: `${channel}-x`, receivedAt: new Date('2025-01-01T00:00:00Z') }));

    expect(await store.prune({ channel, olderThan: new Date('2026-01-01T00:00:00Z') })).toBe(2);
    expect(await store.readContent(old.id, 'raw')).toBeUndefined();
    expect(await store.readContent(old.id, 'transformed')).toBeUndefined();
    expect((await store.get(old.id))?.controlId).toBeDefined();
    expect((await store.events(old.id)).length).toBeGreaterThan(0);
    expect(await store.readContent(recent.id, 'raw')).toBeDefined();
    expect(await store.readContent(otherChannel.id, 'raw')).toBeDefined();
  });

  test('each destination\u2019s reported stages are kept apart, sealed, with the status that reports them', async () => {
    const { id } = await store.receive(adt());
    await store.saveContent(id, 'transformed', '{"resourceType":"Bundle"}');
    // A failure's OperationOutcome, then (next attempt) the success that replaces it; another destination alongside.
    await store.setDestinationStatus(id, 'ch.fhir', 'retrying', { attempts: 1, recordEvent: true, content: { response: '{"resourceType":"OperationOutcome"}' } });
    await Promise.all([
      store.setDestinationStatus(id, 'ch.fhir', 'sent', { attempts: 2, recordEvent: true, lingerMs: 5, content: { sent: `{"name":"${SECRET_NAME}"}`, response: '{"type":"transaction-response"}' } }),
      store.setDestinationStatus(id, 'ch.mllp', 'sent', { attempts: 1, recordEvent: true, lingerMs: 5, content: { response: 'MSH|^~\\&|ACK' } }),
      store.setDestinationStatus(id, 'ch.file', 'sent', { attempts: 1, recordEvent: true, lingerMs: 5 }),
    ]);
    expect(await store.contentStages(id)).toEqual([
      { stage: 'raw' },
      { stage: 'transformed' },
      { stage: 'sent', destination: 'ch.fhir' },
      { stage: 'response', destination: 'ch.fhir' },
      { stage: 'response', destination: 'ch.mllp' },
    ]);
    expect((await store.readContent(id, 'sent', 'ch.fhir'))?.toString()).toContain(SECRET_NAME);
    expect((await store.readContent(id, 'response', 'ch.fhir'))?.toString()).toBe('{"type":"transaction-response"}');
    expect((await store.readContent(id, 'response', 'ch.mllp'))?.toString()).toBe('MSH|^~\\&|ACK');
    expect(await store.readContent(id, 'response')).toBeUndefined();
    expect(await store.readContent(id, 'sent', 'ch.file')).toBeUndefined();
    expect((await store.get(id))?.destinations.map((d) => [d.destination, d.status, d.attempts])).toEqual([
      ['ch.fhir', 'sent', 2],
      ['ch.file', 'sent', 1],
      ['ch.mllp', 'sent', 1],
    ]);
    // Sealed to its destination: a row moved to another destination does not open.
    const fhirRow = await db.kysely.selectFrom('message_content').selectAll().where('message_id', '=', id).where('stage', '=', 'response').where('destination', '=', 'ch.fhir').executeTakeFirstOrThrow();
    await db.kysely.updateTable('message_content').set({ iv: fhirRow.iv, tag: fhirRow.tag, ciphertext: fhirRow.ciphertext }).where('message_id', '=', id).where('destination', '=', 'ch.mllp').execute();
    await expect(store.readContent(id, 'response', 'ch.mllp')).rejects.toThrow(/could not be decrypted/);
    // Retention takes them with the rest of the message's content.
    await db.kysely.updateTable('messages').set({ received_at: Date.parse('2025-01-01T00:00:00Z') }).where('id', '=', id).execute();
    expect(await store.prune({ channel: 'adt-in', olderThan: new Date('2026-01-01T00:00:00Z') })).toBe(5);
    expect(await store.contentStages(id)).toEqual([]);
  });

  test('a failing write in a group commit does not fail its neighbours', async () => {
    const { id } = await store.receive(adt());
    // The foreign key rejects content for an unknown message; the other writes still commit.
    const results = await Promise.allSettled([
      store.setStatus(id, 'queued'),
      store.saveContent('no-such-message', 'transformed', 'x'),
      store.addEvent(id, 'queued'),
      store.receive(adt({ controlId: 'NEIGHBOUR-1' })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((await store.get(id))?.status).toBe('queued');
  });
});
