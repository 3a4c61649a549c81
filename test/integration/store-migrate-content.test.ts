// Migration 0009 (content per destination) on a store that already holds content: every row
// stays, readable, as the message's own stage; a destination's stages then sit beside it.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Migrator, type Kysely } from 'kysely';
import { parseContentKeys, seal } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import { SqlMessageStore } from '../../adapters/store/message-store.js';
import { migrateToLatest, migrations } from '../../adapters/store/migrations/index.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

const ring = parseContentKeys(`a:${crypto.randomBytes(32).toString('base64')}`);

describe.each(BACKENDS)('content migration on %s', (backendName) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;

  beforeAll(async () => {
    backend = createBackend(backendName);
    db = await backend.open();
  });

  afterAll(async () => {
    await db?.close();
    await backend?.cleanup();
  });

  test('content stored before 0009 keeps its place and opens after it', async () => {
    const migrator = new Migrator({ db: db.kysely as unknown as Kysely<unknown>, provider: { getMigrations: async () => ({ ...migrations }) }, ...(db.schema ? { migrationTableSchema: db.schema } : {}) });
    const before = await migrator.migrateTo('0008-audit-mac');
    expect(before.error).toBeUndefined();
    const id = crypto.randomUUID();
    const old = db.kysely as unknown as Kysely<Record<string, Record<string, unknown>>>;
    await old.insertInto('messages').values({ id, channel: 'c', received_at: Date.now(), sender: 's', status: 'queued', updated_at: Date.now() }).execute();
    for (const stage of ['raw', 'response']) {
      const sealed = seal(ring, Buffer.from(`${stage} content`), `message:${id}:${stage}`);
      await old.insertInto('message_content').values({ message_id: id, stage, key_id: sealed.keyId, iv: sealed.iv, tag: sealed.tag, ciphertext: sealed.ciphertext }).execute();
    }

    expect(await migrateToLatest(db.kysely, db.schema)).toContain('0009-content-per-destination'); // and any later ones
    const store = new SqlMessageStore(db, ring);
    try {
      expect(await store.contentStages(id)).toEqual([{ stage: 'raw' }, { stage: 'response' }]);
      expect((await store.readContent(id, 'raw'))?.toString()).toBe('raw content');
      expect((await store.readContent(id, 'response'))?.toString()).toBe('response content');
      await store.setDestinationStatus(id, 'c.fhir', 'sent', { content: { response: 'new' } });
      expect(await store.contentStages(id)).toEqual([{ stage: 'raw' }, { stage: 'response' }, { stage: 'response', destination: 'c.fhir' }]);
      // The message still cascades to its content.
      await db.kysely.deleteFrom('messages').where('id', '=', id).execute();
      expect(await store.contentStages(id)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
