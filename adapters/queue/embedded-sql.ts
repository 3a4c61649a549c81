// The embedded queue's statements as SQL text. They run several times per message (publish,
// fetch, outcome); through the query builder each call built, froze and compiled an operation
// tree, which on a lone message's path cost more CPU than SQLite itself. The texts are fixed
// (PostgreSQL: prepared once per connection); values are parameters, identifiers constants.
import { CompiledQuery, type Insertable } from 'kysely';
import { bulkInsert, type SqlValue, type TypedColumns } from '../store/bulk-sql.js';
import type { DialectName } from '../store/db.js';
import { PREPARE } from '../store/pg-prepared.js';
import type { QueueItemsTable } from '../store/schema.js';

/** queue_items columns written on publish (migrations 0002, 0003), with their PostgreSQL types. */
const QUEUE_COLUMNS = [
  ['destination', 'text'],
  ['message_id', 'text'],
  ['channel', 'text'],
  ['routing_key', 'text'],
  ['partition_key', 'text'],
  ['key_id', 'text'],
  ['iv', 'bytea'],
  ['tag', 'bytea'],
  ['ciphertext', 'bytea'],
  ['attempt', 'integer'],
  ['available_at', 'bigint'],
  ['enqueued_at', 'bigint'],
  ['head', 'integer'],
] as const satisfies TypedColumns;

type QueueRow = Insertable<QueueItemsTable>;

const marks = (count: number): string => Array.from({ length: count }, () => '?').join(', ');

/** The partitions of `destination` among `keys` that already hold an item. */
export function occupiedPartitions(dialect: DialectName, destination: string, keys: string[]): CompiledQuery {
  if (dialect === 'postgres') {
    return CompiledQuery.raw(`${PREPARE}select distinct "partition_key" from "queue_items" where "destination" = $1 and "partition_key" = any($2::text[])`, [destination, keys]);
  }
  return CompiledQuery.raw(`select distinct "partition_key" from "queue_items" where "destination" = ? and "partition_key" in (${marks(keys.length)})`, [destination, ...keys]);
}

export function insertItems(dialect: DialectName, rows: QueueRow[]): CompiledQuery {
  return bulkInsert(
    dialect,
    'queue_items',
    QUEUE_COLUMNS,
    rows.map((row) => QUEUE_COLUMNS.map(([column]) => row[column] as SqlValue)),
  );
}

export function deleteItems(dialect: DialectName, seqs: number[]): CompiledQuery {
  if (dialect === 'postgres') return CompiledQuery.raw(`${PREPARE}delete from "queue_items" where "seq" = any($1::bigint[])`, [seqs]);
  return CompiledQuery.raw(`delete from "queue_items" where "seq" in (${marks(seqs.length)})`, seqs);
}

/**
 * The earliest remaining item of each of `keys` (partitions of `destination`) becomes head: one
 * scalar min() per partition, each a single index probe on (destination, partition_key, seq)
 * however deep the partition (a GROUP BY would scan all its rows).
 */
export function promoteHeads(dialect: DialectName, destination: string, keys: string[]): CompiledQuery {
  if (dialect === 'postgres') {
    return CompiledQuery.raw(
      `${PREPARE}update "queue_items" set "head" = 1 where "seq" in (select (select min("p"."seq") from "queue_items" as "p" where "p"."destination" = $1 and "p"."partition_key" = "k") from unnest($2::text[]) as "k")`,
      [destination, keys],
    );
  }
  const heads = keys.map(() => '(select min("p"."seq") from "queue_items" as "p" where "p"."destination" = ? and "p"."partition_key" = ?)').join(', ');
  return CompiledQuery.raw(
    `update "queue_items" set "head" = 1 where "seq" in (${heads})`,
    keys.flatMap((key) => [destination, key]),
  );
}

/**
 * Ready partition heads of `destination`, in publish order; on PostgreSQL those not in
 * `exclude`. SQLite leaves the heads in flight out in JavaScript (readyHeadSeqs): a `not in`
 * list made it build a temporary b-tree on every call.
 */
export function readyHeads(dialect: DialectName, destination: string, now: number, limit: number, exclude: number[] = []): CompiledQuery {
  if (dialect === 'postgres') {
    return CompiledQuery.raw(
      `${PREPARE}select * from "queue_items" where "destination" = $1 and "head" = 1 and "available_at" <= $2 and not ("seq" = any($3::bigint[])) order by "seq" limit $4`,
      [destination, now, exclude, limit],
    );
  }
  return CompiledQuery.raw(`select * from "queue_items" where "destination" = ? and "head" = 1 and "available_at" <= ? order by "seq" limit ?`, [destination, now, limit]);
}

/**
 * SQLite: the seqs of ready partition heads of `destination`, in publish order. Read first
 * without the rows' content: the heads in flight are among them and are dropped in JavaScript
 * (see embedded-consumer.ts), so only the rows handed out are read whole (`itemsBySeq`).
 */
export function readyHeadSeqs(destination: string, now: number, limit: number): CompiledQuery {
  return CompiledQuery.raw(`select "seq" from "queue_items" where "destination" = ? and "head" = 1 and "available_at" <= ? order by "seq" limit ?`, [destination, now, limit]);
}

/** SQLite: whole queue items by seq (in no particular order). */
export function itemsBySeq(seqs: number[]): CompiledQuery {
  return CompiledQuery.raw(`select * from "queue_items" where "seq" in (${marks(seqs.length)})`, seqs);
}
