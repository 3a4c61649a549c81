// One-off conversion at start: rows written before the keyed-hash patient index hold the
// patient's key in clear — in `messages.patient_key` and as the partition key of queued items
// and dead letters. This replaces each with its hash (and seals the message's key beside it).
// Batched, so a large store converts without one huge transaction, and idempotent: a hashed
// value is never touched again, and a start interrupted half way carries on at the next.
import { CompiledQuery } from 'kysely';
import type { ContentKeyRing } from './crypto.js';
import type { Db, DialectName } from './db.js';
import { hashPatientKey, isHashedPatientKey } from './index-key.js';
import { patientKeyColumns } from './patient-key.js';
import type { StoreDatabase } from './schema.js';

const DEFAULT_BATCH = 500;

export interface RehashCounts {
  messages: number;
  queueItems: number;
  deadLetters: number;
}

/** Partition keys that are no patient's: a message's own (`msg:<id>`) and a dead letter's empty one. */
const isPatientPartition = (key: string) => key !== '' && !key.startsWith('msg:') && !isHashedPatientKey(key);

export async function rehashPatientKeys(db: Db<StoreDatabase>, ring: ContentKeyRing, options: { batch?: number } = {}): Promise<RehashCounts> {
  const batch = options.batch ?? DEFAULT_BATCH;
  const counts: RehashCounts = { messages: 0, queueItems: 0, deadLetters: 0 };
  // Old partition keys exist only beside old messages: queue rows are converted first, so once
  // no message is left to convert none of them is either, and a converted store is checked with
  // one look at an empty partial index.
  if (!(await unconvertedMessages(db, '', 1)).length) return counts;
  counts.queueItems = await rehashPartitions(db, ring, 'queue_items', batch);
  counts.deadLetters = await rehashPartitions(db, ring, 'dead_letters', batch);
  for (let after = ''; ; ) {
    const rows = await unconvertedMessages(db, after, batch);
    if (!rows.length) break;
    after = rows[rows.length - 1].id;
    const updates = rows.filter((r) => !isHashedPatientKey(r.patient_key!)).map((r) => {
      const columns = patientKeyColumns(ring, r.id, r.patient_key!);
      return [r.id, columns.patient_key!, columns.patient_key_sealed!];
    });
    if (updates.length) await db.kysely.executeQuery(updateFromValues(db.dialect, 'messages', 'id', ['patient_key', 'patient_key_sealed'], updates));
    counts.messages += updates.length;
  }
  return counts;
}

/** Messages with a key but nothing sealed (the partial index `messages_patient_key_unsealed`), by id. */
function unconvertedMessages(db: Db<StoreDatabase>, after: string, limit: number) {
  return db.kysely
    .selectFrom('messages')
    .select(['id', 'patient_key'])
    .where('patient_key_sealed', 'is', null)
    .where('patient_key', 'is not', null)
    .where('id', '>', after)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/**
 * Rows by seq, in batches. A partition whose rows span two batches is briefly split in two, but
 * no head is made or lost (each row keeps its own), so delivery order within it holds.
 */
async function rehashPartitions(db: Db<StoreDatabase>, ring: ContentKeyRing, table: 'queue_items' | 'dead_letters', batch: number): Promise<number> {
  let converted = 0;
  for (let after = 0; ; ) {
    const rows = await db.kysely.selectFrom(table).select(['seq', 'partition_key']).where('seq', '>', after).orderBy('seq').limit(batch).execute();
    if (!rows.length) return converted;
    after = rows[rows.length - 1].seq;
    const updates = rows.filter((r) => isPatientPartition(r.partition_key)).map((r) => [r.seq, hashPatientKey(ring, r.partition_key)]);
    if (updates.length) await db.kysely.executeQuery(updateFromValues(db.dialect, table, 'seq', ['partition_key'], updates));
    converted += updates.length;
  }
}

/** `update table set c = v.c … from (values …) v where table.key = v.key`: rows are [key, …columns]. */
function updateFromValues(dialect: DialectName, table: string, key: string, columns: string[], rows: (string | number)[][]): CompiledQuery {
  const names = [key, ...columns];
  let n = 0;
  const mark = () => (dialect === 'postgres' ? `$${++n}` : '?');
  // PostgreSQL types a VALUES column from its first row's parameter: text unless cast.
  const keyCast = dialect === 'postgres' && typeof rows[0][0] === 'number' ? '::bigint' : '';
  const values = rows.map((row) => `(${row.map((_, i) => mark() + (i === 0 ? keyCast : '')).join(', ')})`).join(', ');
  const set = columns.map((c) => `"${c}" = v."${c}"`).join(', ');
  const text = `with v(${names.map((c) => `"${c}"`).join(', ')}) as (values ${values}) update "${table}" set ${set} from v where "${table}"."${key}" = v."${key}"`;
  return CompiledQuery.raw(text, rows.flat());
}
