// One call for the engine's entry point: open the configured database, migrate it, load the
// content keys and build the message store on top.
import type { Config } from '../config.js';
import { loadContentKeys, type ContentKeyRing } from './crypto.js';
import { openDatabase, type Db } from './db.js';
import { MessageStore, type MessageStoreOptions } from './message-store.js';
import { migrateToLatest } from './migrations/index.js';
import type { StoreDatabase } from './schema.js';

export interface OpenedStore {
  db: Db<StoreDatabase>;
  keys: ContentKeyRing;
  store: MessageStore;
}

export async function openStore(config: Pick<Config, 'dbUrl' | 'contentKey' | 'dataDir'>, options?: MessageStoreOptions): Promise<OpenedStore> {
  const keys = loadContentKeys(config);
  const db = await openDatabase<StoreDatabase>(config.dbUrl);
  try {
    await migrateToLatest(db.kysely, db.schema);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { db, keys, store: new MessageStore(db, keys, options) };
}
