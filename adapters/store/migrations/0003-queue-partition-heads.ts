// Embedded queue: mark the head (earliest remaining item) of each (destination, partition) so a
// consumer's fetch is one ordered index range instead of a per-row "is this the earliest?" probe
// that planners mis-estimate on a fresh or churning table.
import { sql, type Kysely, type Migration } from 'kysely';

export const queuePartitionHeadsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('queue_items').addColumn('head', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    // Items queued before this migration: the smallest seq of each partition is its head.
    await sql`update queue_items set head = 1 where seq in (select min(seq) from queue_items group by destination, partition_key)`.execute(db);
    await db.schema.dropIndex('queue_items_destination_seq').execute();
    await db.schema.createIndex('queue_items_heads').on('queue_items').columns(['destination', 'head', 'seq']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex('queue_items_heads').execute();
    await db.schema.createIndex('queue_items_destination_seq').on('queue_items').columns(['destination', 'seq']).execute();
    await db.schema.alterTable('queue_items').dropColumn('head').execute();
  },
};
