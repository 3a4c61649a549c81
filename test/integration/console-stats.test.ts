// The dashboard's figures from the store, on SQLite and PostgreSQL: what became of the messages a
// channel received in a window (older messages left out), and its newest failure.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import { SqlMessageStore } from '../../adapters/store/message-store.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import type { ChannelDefinition } from '../../channels/definition.js';
import type { MessageStore, NewMessage } from '../../core/store.js';
import { channelActivity, channelThroughput, lastChannelError } from '../../server/api/stats.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

const ring = parseContentKeys(`a:${crypto.randomBytes(32).toString('base64')}`);
const HOUR = 3_600_000;

function message(channel: string, receivedAt: Date, status: NewMessage['status'] = 'received'): NewMessage {
  return { channel, receivedAt, sender: 'RCB', controlId: crypto.randomUUID(), messageType: 'ADT^A01', status, raw: 'MSH|^~\\&|PAS|RCB' };
}

describe.each(BACKENDS)('dashboard figures on %s', (backendName) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let store: MessageStore;
  const channel = { id: `dash-${crypto.randomBytes(3).toString('hex')}`, destinations: [{ name: 'a' }, { name: 'b' }] } as unknown as ChannelDefinition;
  const a = `${channel.id}.a`;
  const b = `${channel.id}.b`;
  const now = Date.now();

  beforeAll(async () => {
    backend = createBackend(backendName);
    db = await backend.openMigrated();
    store = new SqlMessageStore(db, ring);
    // Two hours ago: sent to a, dead-lettered at b. Ten minutes ago: sent to a, retrying at b;
    // one rejected; one queued for both. Another channel's message is never counted.
    const old = (await store.receive(message(channel.id, new Date(now - 2 * HOUR)))).id;
    await store.setStatus(old, 'queued', undefined, { destinations: [a, b] });
    await store.setDestinationStatus(old, a, 'sent');
    await store.setDestinationStatus(old, b, 'dead-lettered', { attempts: 5, error: 'HTTP 500 from the case system' });
    const recent = (await store.receive(message(channel.id, new Date(now - 10 * 60_000)))).id;
    await store.setStatus(recent, 'queued', undefined, { destinations: [a, b] });
    await store.setDestinationStatus(recent, a, 'sent');
    await store.setDestinationStatus(recent, b, 'retrying', { attempts: 2, error: 'connect ECONNREFUSED' });
    await store.receive({ ...message(channel.id, new Date(now - 5 * 60_000), 'rejected'), error: 'MSH-9 missing' });
    const waiting = (await store.receive(message(channel.id, new Date(now - 60_000)))).id;
    await store.setStatus(waiting, 'queued', undefined, { destinations: [a, b] });
    await store.receive(message('another-channel', new Date(now - 60_000)));
  });

  afterAll(async () => {
    await store?.close();
    await db?.close();
    await backend?.cleanup();
  });

  test('the last hour leaves out what came before it; the day counts it', async () => {
    expect(await channelActivity(db.kysely, channel, new Date(now - HOUR))).toEqual({ received: 3, rejected: 1, queued: 2, sent: 1, errored: 1, deadLettered: 0 });
    expect(await channelActivity(db.kysely, channel, new Date(now - 24 * HOUR))).toEqual({ received: 4, rejected: 1, queued: 2, sent: 2, errored: 1, deadLettered: 1 });
  });

  test('the newest failure: a delivery failing now, else the newest rejection, else none', async () => {
    expect(await lastChannelError(db.kysely, channel)).toMatchObject({ destination: b, error: 'connect ECONNREFUSED' });
    const rejecting = { id: `rej-${crypto.randomBytes(3).toString('hex')}`, destinations: [{ name: 'x' }] } as unknown as ChannelDefinition;
    expect(await lastChannelError(db.kysely, rejecting)).toBeUndefined();
    const rejected = await store.receive({ ...message(rejecting.id, new Date(now - 60_000), 'rejected'), error: 'MSH-9 missing' });
    expect(await lastChannelError(db.kysely, rejecting)).toEqual({ at: new Date(now - 60_000), messageId: rejected.id, error: 'MSH-9 missing' });
  });

  test('throughput: messages received per bucket, oldest first, empty buckets as zeros', async () => {
    const counts = await channelThroughput(db.kysely, channel, new Date(now - 3 * HOUR), HOUR, 3);
    expect(counts).toEqual([0, 1, 3]);
  });
});
