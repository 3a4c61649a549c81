// Which keys a store was written with (adapters/store/key-checks.ts): one row per purpose —
// `audit`, `index`, `content:<key id>` — holding the key's id and a check value derived from
// it (never the key), so an engine or CLI started with other keys is refused at start instead
// of writing rows the others cannot read, find or verify.
import type { Kysely, Migration } from 'kysely';

export const storeKeysMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('store_keys')
      .addColumn('purpose', 'text', (c) => c.primaryKey())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('check_value', 'text', (c) => c.notNull())
      .addColumn('recorded_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('store_keys').ifExists().execute();
  },
};
