// Every process on one store (engines, the CLI) must hold the same keys: content sealed under a
// key another engine lacks cannot be read there, patient hashes under another index key are not
// found, and audit entries signed with another audit key do not verify. Each process records the
// keys it writes with in `store_keys` (an id and a check value derived from the key, never the
// key) and is refused at start when the store was written with other keys — before it writes
// anything — rather than failing one request at a time later.
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { fingerprint, type ContentKeyRing } from './crypto.js';

export interface StoreKeysTable {
  purpose: string;
  key_id: string;
  check_value: string;
  recorded_at: number;
}

interface KeysDatabase {
  store_keys: StoreKeysTable;
}

/** A key as recorded: its id and a value derived from its bytes that tells keys with equal ids apart. */
export interface HeldKey {
  id: string;
  check: string;
}

/** What a process holds: the content keys (with TRAMLINE_INDEX_KEY when set) and the audit key. */
export interface HeldKeys {
  content: ContentKeyRing;
  audit?: HeldKey;
}

const CHECK_LABEL = 'tramline store key check v1';

/** A one-way check value of `secret` (HMAC under a fixed label, 16 bytes hex). */
export function keyCheck(secret: Buffer): string {
  return crypto.createHmac('sha256', secret).update(CHECK_LABEL).digest('hex').slice(0, 32);
}

export class StoreKeyMismatch extends Error {}

const SHARE = 'every engine and CLI on one store must use the same keys (docs/security.md, "Keys")';

/**
 * Records `held`'s keys in the store, or refuses (StoreKeyMismatch) when the store was written
 * with others: another audit key or index key, a content key id whose bytes differ, or a newest
 * content key this process does not hold. Content keys retired from the list are allowed (rows
 * sealed with them are unreadable here, as they would be anyway).
 */
export async function checkStoreKeys(db: { kysely: unknown }, held: HeldKeys, now = Date.now()): Promise<void> {
  const kysely = db.kysely as Kysely<KeysDatabase>;
  const single: [string, HeldKey | undefined, string][] = [
    ['audit', held.audit, 'the audit key (TRAMLINE_AUDIT_KEY, or audit.key in TRAMLINE_DATA_DIR)'],
    ['index', held.content.indexKey ? { id: fingerprint(held.content.indexKey), check: keyCheck(held.content.indexKey) } : undefined, 'the index key (TRAMLINE_INDEX_KEY)'],
  ];
  const contentKeys = [...held.content.keys].map(([id, secret]) => ({ purpose: `content:${id}`, id, check: keyCheck(secret) }));
  const current = contentKeys.find((k) => k.id === held.content.currentId)!;

  // The single keys are recorded first (a no-op when present) and then compared with what is
  // there, so two processes starting at once with different keys cannot both record theirs.
  for (const [purpose, k] of single) {
    if (!k) continue;
    await kysely.insertInto('store_keys').values({ purpose, key_id: k.id, check_value: k.check, recorded_at: now }).onConflict((oc) => oc.column('purpose').doNothing()).execute();
  }
  const recorded = new Map((await kysely.selectFrom('store_keys').selectAll().execute()).map((r) => [r.purpose, r]));
  for (const [purpose, mine, what] of single) {
    const theirs = recorded.get(purpose);
    if (!theirs) continue;
    if (!mine) throw new StoreKeyMismatch(`this store's ${purpose} rows are keyed with ${what} ${theirs.key_id}, and this process has none set: ${SHARE}`);
    if (theirs.key_id !== mine.id || theirs.check_value !== mine.check) throw new StoreKeyMismatch(`this store was written with ${what} ${theirs.key_id}, this process has ${mine.id}: ${SHARE}`);
  }
  for (const k of contentKeys) {
    const theirs = recorded.get(k.purpose);
    if (theirs && theirs.check_value !== k.check) throw new StoreKeyMismatch(`content key "${k.id}" (TRAMLINE_CONTENT_KEY, or content.key in TRAMLINE_DATA_DIR) is not the key of that id this store was written with: ${SHARE}`);
  }
  // The newest content key recorded must be one of ours (before ours is recorded): after a
  // rotation the old key may go, but a process without the new one would write and read apart.
  const newest = [...recorded.values()].filter((r) => r.purpose.startsWith('content:')).sort((a, b) => b.recorded_at - a.recorded_at)[0];
  if (newest && !held.content.keys.has(newest.key_id)) {
    throw new StoreKeyMismatch(`this store's content is sealed with content key "${newest.key_id}", which this process does not hold (TRAMLINE_CONTENT_KEY, or content.key in TRAMLINE_DATA_DIR): ${SHARE}`);
  }
  if (!recorded.has(current.purpose)) {
    await kysely.insertInto('store_keys').values({ purpose: current.purpose, key_id: current.id, check_value: current.check, recorded_at: now }).onConflict((oc) => oc.column('purpose').doNothing()).execute();
  }
}
