// One call for the engine's entry point: open the configured database, migrate it, load the
// content keys and the audit key, and build the message store on top.
import { auditHeadFile } from '../audit/head.js';
import { loadAuditKey, type AuditKey } from '../audit/key.js';
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
  /** What an AuditTrail over this store needs: `new AuditTrail(opened.db, opened.audit)`. */
  audit: { key: AuditKey; headFile: string };
}

export async function openStore(config: Pick<Config, 'dbUrl' | 'contentKey' | 'auditKey' | 'dataDir'>, options?: MessageStoreOptions): Promise<OpenedStore> {
  const keys = loadContentKeys(config);
  const audit = { key: loadAuditKey(config), headFile: auditHeadFile(config.dataDir) };
  const db = await openDatabase<StoreDatabase>(config.dbUrl);
  try {
    await migrateToLatest(db.kysely, db.schema);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { db, keys, store: new MessageStore(db, keys, options), audit };
}
