// The embedded queue's writes. Every write that changes which item heads a partition (publish,
// replay, done, dead-letter) goes through one group committer with one transaction at a time,
// so the head flag is always exact: an item is head when it is the earliest remaining item of
// its (destination, partition_key).
import type { Insertable, Transaction } from 'kysely';
import { dialectOf } from '../store/db.js';
import type { BulkWrite } from '../store/group-commit.js';
import type { QueueItemsTable, StoreDatabase } from '../store/schema.js';
import { sealedColumnsOf, type QueueItemRow } from './embedded-rows.js';
import { deleteItems, insertItems, occupiedPartitions, promoteHeads as promoteHeadsSql } from './embedded-sql.js';
import type { DeliveryOutcome } from '../../core/queue.js';

type Trx = Transaction<StoreDatabase>;
export type NewQueueItem = Omit<Insertable<QueueItemsTable>, 'head'>;

const ROW_CHUNK = 200;
const KEY_CHUNK = 500;
const PROMOTE_CHUNK = 100;

function chunked<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Partition keys grouped by destination, each key once. */
function partitionsByDestination(rows: { destination: string; partition_key: string }[]): Map<string, string[]> {
  const sets = new Map<string, Set<string>>();
  for (const r of rows) {
    const set = sets.get(r.destination) ?? new Set<string>();
    set.add(r.partition_key);
    sets.set(r.destination, set);
  }
  return new Map([...sets].map(([d, keys]) => [d, [...keys]]));
}

/** Insert items in the given order; each is head only if its partition had nothing before it. */
export async function insertQueueItems(trx: Trx, items: NewQueueItem[]): Promise<void> {
  if (items.length === 0) return;
  const dialect = dialectOf<StoreDatabase>(trx);
  const occupied = new Set<string>();
  for (const [destination, keys] of partitionsByDestination(items)) {
    for (const chunk of chunked(keys, KEY_CHUNK)) {
      const { rows: present } = await trx.executeQuery<{ partition_key: string }>(occupiedPartitions(dialect, destination, chunk));
      for (const p of present) occupied.add(`${destination}\u0000${p.partition_key}`);
    }
  }
  const rows = items.map((item) => {
    const key = `${item.destination}\u0000${item.partition_key}`;
    const head = occupied.has(key) ? 0 : 1;
    occupied.add(key);
    return { ...item, head };
  });
  for (const chunk of chunked(rows, ROW_CHUNK)) await trx.executeQuery(insertItems(dialect, chunk));
}

/**
 * After items left the queue, the earliest remaining item of each of their partitions leads.
 * Returns how many items became head.
 */
async function promoteHeads(trx: Trx, removed: { destination: string; partition_key: string }[]): Promise<number> {
  const dialect = dialectOf<StoreDatabase>(trx);
  let promoted = 0;
  for (const [destination, keys] of partitionsByDestination(removed)) {
    for (const chunk of chunked(keys, PROMOTE_CHUNK)) promoted += Number((await trx.executeQuery(promoteHeadsSql(dialect, destination, chunk))).numAffectedRows ?? 1);
  }
  return promoted;
}

export const publishItems: BulkWrite<StoreDatabase, NewQueueItem[], void> = {
  name: 'queue-publish',
  async apply(trx, batches) {
    await insertQueueItems(trx, batches.flat());
    return batches.map(() => undefined);
  },
};

/**
 * Items published with their message's receive (DeliveryQueue.publishWithReceive): applied
 * after the receives of the same transaction, and only those whose message is now stored are
 * queued (a duplicate's new id never is). A receive that failed rolled back with this write, and
 * the retry of each write on its own stores neither the message nor its item.
 */
export const publishStoredItems: BulkWrite<StoreDatabase, NewQueueItem[], Set<string>> = {
  name: 'queue-publish-stored',
  last: true,
  async apply(trx, batches) {
    const ids = [...new Set(batches.flat().map((item) => item.message_id))];
    const stored = new Set<string>();
    for (const chunk of chunked(ids, KEY_CHUNK)) {
      for (const row of await trx.selectFrom('messages').select('id').where('id', 'in', chunk).execute()) stored.add(row.id);
    }
    await insertQueueItems(
      trx,
      batches.flat().filter((item) => stored.has(item.message_id)),
    );
    // Each caller learns which of its messages were queued.
    return batches.map((items) => new Set(items.filter((item) => stored.has(item.message_id)).map((item) => item.message_id)));
  },
};

export interface OutcomeWrite {
  row: QueueItemRow;
  outcome: DeliveryOutcome;
  now: number;
}

/**
 * done → delete; retry → later and attempt + 1 (stays head); dead-letter → move to dead_letters.
 * Each write's result: whether an item may have become ready through this batch (a partition got
 * a new head, or an item is to be retried), so its consumer knows whether to look again.
 */
export const applyOutcomes: BulkWrite<StoreDatabase, OutcomeWrite, boolean> = {
  name: 'queue-outcome',
  async apply(trx, writes) {
    const removed: QueueItemRow[] = [];
    const deadLetters = [];
    for (const { row, outcome, now } of writes) {
      if (outcome.kind === 'retry') {
        await trx
          .updateTable('queue_items')
          .set({ available_at: now + outcome.delayMs, attempt: row.attempt + 1 })
          .where('seq', '=', row.seq)
          .execute();
        continue;
      }
      removed.push(row);
      if (outcome.kind === 'dead-letter') {
        deadLetters.push({ ...sealedColumnsOf(row), attempts: row.attempt, reason: outcome.reason, dead_lettered_at: now });
      }
    }
    for (const chunk of chunked(deadLetters, ROW_CHUNK)) await trx.insertInto('dead_letters').values(chunk).execute();
    const dialect = dialectOf<StoreDatabase>(trx);
    for (const chunk of chunked(removed, ROW_CHUNK)) {
      await trx.executeQuery(
        deleteItems(
          dialect,
          chunk.map((r) => r.seq),
        ),
      );
    }
    const promoted = await promoteHeads(trx, removed);
    return writes.map(({ outcome }) => promoted > 0 || outcome.kind !== 'done');
  },
};

/** Move dead letters (oldest first) back to the end of their partitions, attempt reset to 1. */
export async function replayDeadLetters(trx: Trx, destination: string, messageIds: string[] | undefined, now: number): Promise<number> {
  let query = trx.selectFrom('dead_letters').selectAll().where('destination', '=', destination);
  if (messageIds !== undefined) query = query.where('message_id', 'in', messageIds);
  const letters = await query.orderBy('seq').execute();
  await insertQueueItems(
    trx,
    letters.map((l) => ({ ...sealedColumnsOf(l), attempt: 1, available_at: now, enqueued_at: now })),
  );
  for (const chunk of chunked(letters, ROW_CHUNK)) {
    await trx
      .deleteFrom('dead_letters')
      .where(
        'seq',
        'in',
        chunk.map((l) => l.seq),
      )
      .execute();
  }
  return letters.length;
}
