// One writer per SQLite database. SQLite lets one connection write at a time and every commit
// costs an fsync, so the store, the embedded queue and the audit trail, which share the
// store's database, share one group committer too: a message's receive, its queue row, the
// previous message's status and audit entries and a delivery's outcome commit together,
// with one fsync, instead of queueing behind each other's. On PostgreSQL each keeps its own
// committer (its commits run concurrently on pooled connections).
import type { Kysely } from 'kysely';
import type { Db } from './db.js';
import { GroupCommitter } from './group-commit.js';

/** Most writes per shared transaction. */
const SHARED_MAX_BATCH = 500;

const writers = new WeakMap<Kysely<unknown>, GroupCommitter<unknown>>();

/** The SQLite database's one group committer (BEGIN IMMEDIATE, one transaction at a time). */
export function sqliteWriter<DB>(db: Pick<Db<DB>, 'kysely' | 'dialect'>): GroupCommitter<DB> {
  if (db.dialect !== 'sqlite') throw new Error('sqliteWriter: only SQLite databases share one writer');
  const key = db.kysely as unknown as Kysely<unknown>;
  let writer = writers.get(key);
  if (!writer) {
    writer = new GroupCommitter(key, { maxBatch: SHARED_MAX_BATCH, maxConcurrent: 1, immediate: true });
    writers.set(key, writer);
  }
  return writer as unknown as GroupCommitter<DB>;
}
