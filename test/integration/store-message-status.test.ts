// A queued message's status follows its destinations (sent, partially-sent, dead-lettered,
// filtered), `list --status` finds it by that status, and the history has each step — on
// both stores, including a delivery recorded before the intake's 'queued' write lands.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import { SqlMessageStore } from '../../adapters/store/message-store.js';
import type { MessageStore } from '../../core/store.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { DESTINATION_STATUSES, MESSAGE_STATUSES, type DestinationStatus, type MessageStatus } from '../../core/store.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

const ring = parseContentKeys(`a:${crypto.randomBytes(32).toString('base64')}`);

describe.each(BACKENDS)('message status from destinations on %s', (backendName) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let store: MessageStore;
  const channel = `status-${crypto.randomUUID()}`;

  beforeAll(async () => {
    backend = createBackend(backendName);
    db = await backend.openMigrated();
    store = new SqlMessageStore(db, ring);
  });

  afterAll(async () => {
    await store.close();
    await db.close();
    await backend.cleanup();
  });

  const receive = async (status: MessageStatus = 'received') =>
    (await store.receive({ channel, receivedAt: new Date(), sender: 'RCB', controlId: crypto.randomUUID(), messageType: 'ADT^A01', status, raw: 'MSH|^~\\&|X' })).id;
  const statusOf = async (id: string) => (await store.get(id))?.status;
  const listed = async (status: MessageStatus) => (await store.list({ channel, status, limit: 1000 })).map((m) => m.id);

  test('queued → partially-sent → sent, each step in the history and found by list --status', async () => {
    const id = await receive();
    await store.setStatus(id, 'queued', undefined, { destinations: ['c.a', 'c.b'] });
    expect(await statusOf(id)).toBe('queued');
    expect(await listed('queued')).toContain(id);

    await store.setDestinationStatus(id, 'c.a', 'sent', { attempts: 1, recordEvent: true });
    expect(await statusOf(id)).toBe('partially-sent');
    expect(await listed('partially-sent')).toContain(id);
    expect(await listed('sent')).not.toContain(id);
    expect(await listed('queued')).not.toContain(id);

    await store.setDestinationStatus(id, 'c.b', 'retrying', { attempts: 1, error: 'HTTP 503', recordEvent: true });
    expect(await statusOf(id)).toBe('partially-sent');
    await store.setDestinationStatus(id, 'c.b', 'sent', { attempts: 2, recordEvent: true });
    expect(await statusOf(id)).toBe('sent');
    expect(await listed('sent')).toContain(id);
    expect(await listed('partially-sent')).not.toContain(id);

    const events = (await store.events(id)).map((e) => [e.event, e.destination ?? null, e.detail ?? null]);
    expect(events).toEqual([
      ['received', null, null],
      ['queued', null, null],
      ['sent', 'c.a', null],
      ['retrying', 'c.b', 'HTTP 503'],
      ['sent', 'c.b', null],
    ]);
  });

  test('one dead-lettered destination makes the message dead-lettered', async () => {
    const id = await receive();
    await store.setStatus(id, 'queued', undefined, { destinations: ['c.a', 'c.b'] });
    await store.setDestinationStatus(id, 'c.a', 'sent', { attempts: 1, recordEvent: true });
    await store.setDestinationStatus(id, 'c.b', 'dead-lettered', { attempts: 5, error: 'gave up', recordEvent: true });
    expect(await statusOf(id)).toBe('dead-lettered');
    expect(await listed('dead-lettered')).toContain(id);
    expect(await listed('sent')).not.toContain(id);
    expect((await store.events(id)).map((e) => e.event)).toEqual(['received', 'queued', 'sent', 'dead-lettered']);
  });

  test('every destination filtering it out makes it filtered', async () => {
    const id = await receive();
    await store.setStatus(id, 'queued', undefined, { destinations: ['c.a'] });
    await store.setDestinationStatus(id, 'c.a', 'filtered', { attempts: 1, recordEvent: true });
    expect(await statusOf(id)).toBe('filtered');
    expect(await listed('filtered')).toContain(id);
    expect(await listed('queued')).not.toContain(id);
  });

  test('a delivery recorded before the queued write is not undone by it', async () => {
    const id = await receive();
    await store.setDestinationStatus(id, 'c.a', 'sent', { attempts: 1, recordEvent: true });
    await store.setStatus(id, 'queued', undefined, { destinations: ['c.a', 'c.b'] });
    expect(await statusOf(id)).toBe('partially-sent');
    expect((await store.get(id))?.destinations.map((d) => [d.destination, d.status])).toEqual([
      ['c.a', 'sent'],
      ['c.b', 'queued'],
    ]);
  });

  test('many messages queued and delivered at once (shared commits) all end sent', async () => {
    const ids = await Promise.all(Array.from({ length: 300 }, () => receive()));
    await Promise.all(ids.map((id) => store.setStatus(id, 'queued', undefined, { lingerMs: 5, destinations: ['c.a', 'c.b'] })));
    await Promise.all(ids.flatMap((id) => ['c.a', 'c.b'].map((d) => store.setDestinationStatus(id, d, 'sent', { attempts: 1, lingerMs: 5, recordEvent: true }))));
    const sent = new Set(await listed('sent'));
    expect(ids.filter((id) => !sent.has(id))).toEqual([]);
    expect((await store.events(ids[123])).map((e) => e.event)).toEqual(['received', 'queued', 'sent', 'sent']);
  });

  test('list --status finds exactly the messages get reports with that status, for every mix of destination states', async () => {
    // The SQL in list and deliveryStatus in core/store.ts must agree.
    const mixes: DestinationStatus[][] = [[]];
    for (const a of DESTINATION_STATUSES) {
      mixes.push([a]);
      for (const b of DESTINATION_STATUSES) mixes.push([a, b]);
    }
    const reported = new Map<string, MessageStatus>();
    for (const mix of mixes) {
      const id = await receive();
      await store.setStatus(id, 'queued', undefined, { destinations: mix.map((_, i) => `c.${i}`) });
      for (const [i, status] of mix.entries()) await store.setDestinationStatus(id, `c.${i}`, status, { attempts: 1 });
      reported.set(id, (await store.get(id))!.status);
    }
    for (const stored of ['received', 'errored', 'filtered'] as const) reported.set(await receive(stored), stored);
    for (const status of MESSAGE_STATUSES) {
      const found = new Set(await listed(status));
      const wrong = [...reported].filter(([id, r]) => found.has(id) !== (r === status));
      expect([status, wrong]).toEqual([status, []]);
    }
  });
});
