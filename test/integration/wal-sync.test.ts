// A SQLite commit synced off the event loop (adapters/store/wal-sync.ts): the group committer
// commits unsynced, syncs the WAL file, and only then answers its callers; the connection's
// other writers keep synchronous = FULL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sql, type Transaction } from 'kysely';
import { openDatabase, walSyncOf, type Db } from '../../adapters/store/db.js';
import { GroupCommitter } from '../../adapters/store/group-commit.js';
import { migrateToLatest } from '../../adapters/store/migrations/index.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { WalSync } from '../../adapters/store/wal-sync.js';

describe('SQLite commits synced off the event loop', () => {
  let dir: string;
  let db: Db<StoreDatabase>;
  let observer: Db<StoreDatabase>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-wal-sync-'));
    db = await openDatabase<StoreDatabase>(`sqlite:${path.join(dir, 'store.db')}`);
    await migrateToLatest(db.kysely);
    observer = await openDatabase<StoreDatabase>(`sqlite:${path.join(dir, 'store.db')}`);
  });

  afterAll(async () => {
    await observer?.close();
    await db?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const insertMessage = (trx: Transaction<StoreDatabase>, id: string) =>
    trx
      .insertInto('messages')
      .values({ id, channel: 'ws', received_at: 0, sender: '', control_id: null, message_type: null, patient_key: null, status: 'received', error: null, updated_at: 0 })
      .execute();

  const synchronousSetting = async (): Promise<number> => {
    const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(db.kysely);
    return rows[0].synchronous;
  };

  test('a SQLite file has a WAL sync; :memory: has none', async () => {
    expect(walSyncOf(db.kysely)).toBeInstanceOf(WalSync);
    const memory = await openDatabase('sqlite::memory:');
    try {
      expect(walSyncOf(memory.kysely)).toBeUndefined();
    } finally {
      await memory.close();
    }
  });

  test('callers are answered after the sync, in order, with the rows visible to another connection', async () => {
    const walSync = walSyncOf(db.kysely) as WalSync;
    const committer = new GroupCommitter(db.kysely, { immediate: true, walSync });
    const before = walSync.syncCount;
    const answered: number[] = [];
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        committer
          .run(async (trx) => {
            await insertMessage(trx, `ws-${i}`);
            return i;
          })
          .then((n) => {
            // Each caller hears back only once a sync made after its commit has finished.
            expect(walSync.syncCount).toBeGreaterThan(before);
            answered.push(n);
          }),
      ),
    );
    expect(answered).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const seen = await observer.kysely.selectFrom('messages').select('id').where('channel', '=', 'ws').execute();
    expect(seen).toHaveLength(60);
    // The connection is back to FULL for every other writer.
    expect(await synchronousSetting()).toBe(2);
    await committer.drain();
  });

  test('a failed write rolls back and leaves the connection at FULL', async () => {
    const committer = new GroupCommitter(db.kysely, { immediate: true, walSync: walSyncOf(db.kysely) });
    const failing = committer.run(async (trx) => {
      await insertMessage(trx, 'ws-rolled-back');
      throw new Error('case system said no');
    });
    await expect(failing).rejects.toThrow('case system said no');
    const rows = await observer.kysely.selectFrom('messages').select('id').where('id', '=', 'ws-rolled-back').execute();
    expect(rows).toEqual([]);
    expect(await synchronousSetting()).toBe(2);
  });

  test('syncs asked for while one runs share the next one', async () => {
    const walSync = walSyncOf(db.kysely) as WalSync;
    const before = walSync.syncCount;
    await Promise.all(Array.from({ length: 50 }, () => walSync.sync()));
    // The first starts at once; the other 49 wait for it and share one more.
    expect(walSync.syncCount - before).toBe(2);
  });

  test('a sync that fails fails its callers: they are not told the write is on disk', async () => {
    const missing = new WalSync(path.join(dir, 'no-such-folder', 'store.db-wal'));
    await expect(missing.sync()).rejects.toThrow(/ENOENT/);
    const committer = new GroupCommitter(db.kysely, { immediate: true, walSync: missing });
    await expect(committer.run((trx) => insertMessage(trx, 'ws-unsynced'))).rejects.toThrow(/ENOENT/);
    await committer.drain();
    expect(await synchronousSetting()).toBe(2);
  });
});
