// Message search pages are ordered newest first by (received_at, id) and page on that pair
// (keyset paging). An index on both gives the order directly, so a page stops reading at its
// last row instead of sorting every message of one millisecond (or, on SQLite, of the range).
// It replaces the index on received_at alone, which it covers.
import type { Kysely, Migration } from 'kysely';

export const messagesReceivedIdMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('messages_received_id').on('messages').columns(['received_at', 'id']).execute();
    await db.schema.dropIndex('messages_received').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.createIndex('messages_received').on('messages').column('received_at').execute();
    await db.schema.dropIndex('messages_received_id').execute();
  },
};
