// Embedded delivery queue (used when no RabbitMQ is configured): waiting items and dead letters.
// Payloads are sealed like message content because they carry the transformed message.
import type { Kysely, Migration } from 'kysely';
import { bytesType, withSequenceKey } from './column-types.js';

export const embeddedQueueMigration: Migration = {
  async up(db: Kysely<unknown>) {
    const bytes = bytesType(db);
    await withSequenceKey(db, db.schema.createTable('queue_items'), 'seq')
      .addColumn('destination', 'text', (c) => c.notNull())
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('routing_key', 'text', (c) => c.notNull())
      .addColumn('partition_key', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('iv', bytes, (c) => c.notNull())
      .addColumn('tag', bytes, (c) => c.notNull())
      .addColumn('ciphertext', bytes, (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('available_at', 'bigint', (c) => c.notNull())
      .addColumn('enqueued_at', 'bigint', (c) => c.notNull())
      .execute();
    // Claim scan (destination, seq order) and the "earlier item of the same partition" probe.
    await db.schema.createIndex('queue_items_destination_seq').on('queue_items').columns(['destination', 'seq']).execute();
    await db.schema.createIndex('queue_items_partition').on('queue_items').columns(['destination', 'partition_key', 'seq']).execute();

    await withSequenceKey(db, db.schema.createTable('dead_letters'), 'seq')
      .addColumn('destination', 'text', (c) => c.notNull())
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('routing_key', 'text', (c) => c.notNull())
      .addColumn('partition_key', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('iv', bytes, (c) => c.notNull())
      .addColumn('tag', bytes, (c) => c.notNull())
      .addColumn('ciphertext', bytes, (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('dead_lettered_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('dead_letters_destination_seq').on('dead_letters').columns(['destination', 'seq']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('dead_letters').ifExists().execute();
    await db.schema.dropTable('queue_items').ifExists().execute();
  },
};
