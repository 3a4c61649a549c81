// Messages: searchable metadata, encrypted content per stage, per-destination state and the
// lifecycle history.
import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import { bytesType, withSequenceKey } from './column-types.js';

export const messagesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    const bytes = bytesType(db);
    await db.schema
      .createTable('messages')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('sender', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('control_id', 'text')
      .addColumn('message_type', 'text')
      .addColumn('patient_key', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    // Duplicate detection: same channel + sender + sender's message id.
    await db.schema
      .createIndex('messages_duplicate_key')
      .on('messages')
      .columns(['channel', 'sender', 'control_id'])
      .unique()
      .where(sql.ref('control_id'), 'is not', null)
      .execute();
    await db.schema.createIndex('messages_channel_received').on('messages').columns(['channel', 'received_at']).execute();
    await db.schema.createIndex('messages_status_received').on('messages').columns(['status', 'received_at']).execute();
    await db.schema.createIndex('messages_received').on('messages').column('received_at').execute();
    await db.schema.createIndex('messages_control_id').on('messages').column('control_id').execute();
    await db.schema.createIndex('messages_patient_key').on('messages').columns(['patient_key', 'received_at']).execute();

    await db.schema
      .createTable('message_content')
      .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('stage', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('iv', bytes, (c) => c.notNull())
      .addColumn('tag', bytes, (c) => c.notNull())
      .addColumn('ciphertext', bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('message_content_pk', ['message_id', 'stage'])
      .execute();

    await db.schema
      .createTable('message_destinations')
      .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('destination', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_destinations_pk', ['message_id', 'destination'])
      .execute();
    await db.schema.createIndex('message_destinations_status').on('message_destinations').columns(['status', 'message_id']).execute();

    await withSequenceKey(db, db.schema.createTable('message_events'), 'id')
      .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('destination', 'text')
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('message_events_message').on('message_events').columns(['message_id', 'id']).execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['message_events', 'message_destinations', 'message_content', 'messages']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
