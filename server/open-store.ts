// One call for the engine's entry point: open the configured database, migrate it (and rehash
// patient keys stored in clear by earlier versions), load the content keys and the audit key,
// and build the message store on top.
import { auditHeadFile } from './audit/head.js';
import { loadAuditKey, type AuditKey } from './audit/key.js';
import type { Config } from '../core/config.js';
import { loadContentKeys, type ContentKeyRing } from '../adapters/store/crypto.js';
import { openDatabase, shownDbUrl, type Db } from '../adapters/store/db.js';
import { SqlMessageStore, type MessageStoreOptions } from '../adapters/store/message-store.js';
import type { MessageStore } from '../core/store.js';
import { migrateToLatest } from '../adapters/store/migrations/index.js';
import { rehashPatientKeys } from '../adapters/store/patient-key-rehash.js';
import { checkStoreKeys } from '../adapters/store/key-checks.js';
import { log } from '../core/logger.js';
import type { StoreDatabase } from '../adapters/store/schema.js';

export interface OpenedStore {
  db: Db<StoreDatabase>;
  keys: ContentKeyRing;
  store: MessageStore;
  /** What an AuditTrail over this store needs: `new AuditTrail(opened.db, opened.audit)`. */
  audit: { key: AuditKey; headFile: string };
}

export async function openStore(config: Pick<Config, 'dbUrl' | 'contentKey' | 'auditKey' | 'indexKey' | 'dataDir'>, options?: MessageStoreOptions): Promise<OpenedStore> {
  const keys = loadContentKeys(config);
  const audit = { key: loadAuditKey(config), headFile: auditHeadFile(config.dataDir) };
  let db: Db<StoreDatabase> | undefined;
  try {
    db = await openDatabase<StoreDatabase>(config.dbUrl);
    await migrateToLatest(db.kysely, db.schema);
  } catch (err) {
    await db?.close();
    throw unreachable(err) ? new Error(`cannot reach the store at TRAMLINE_DB_URL=${shownDbUrl(config.dbUrl)}: ${unreachable(err)}`, { cause: err }) : err;
  }
  try {
    // Refused before anything is written when another engine or CLI wrote this store with other keys.
    await checkStoreKeys(db, { content: keys, audit: { id: audit.key.id, check: audit.key.id } });
    const rehashed = await rehashPatientKeys(db, keys);
    if (rehashed.messages || rehashed.queueItems || rehashed.deadLetters) log.info({ ...rehashed }, 'patient keys stored in clear replaced by keyed hashes');
  } catch (err) {
    await db.close();
    throw err;
  }
  return { db, keys, store: new SqlMessageStore(db, keys, options), audit };
}

/** Errors that mean the database cannot be reached or opened (as opposed to a failing migration). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EACCES', 'EPERM', 'ENOENT', 'SQLITE_CANTOPEN', '28P01', '28000', '3D000']);

/** The reason (code and message) when `err` says the store is out of reach, else undefined. */
function unreachable(err: unknown): string | undefined {
  for (let e = err as (Error & { code?: string; cause?: unknown; errors?: unknown[] }) | undefined; e; e = e.cause as typeof e) {
    // pg reports a refused connection to a host with several addresses as an AggregateError.
    const code = e.code ?? (e.errors?.[0] as { code?: string } | undefined)?.code;
    if (code && UNREACHABLE.has(code)) return e.message && !e.message.includes(code) ? `${code} ${e.message}` : e.message || code;
  }
  return undefined;
}
