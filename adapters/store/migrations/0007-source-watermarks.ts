// Where each polling source has read up to: the watermark column's value and the key of the
// last row with that value (ties), saved after the rows are stored, so a restart neither
// skips nor (beyond the last uncommitted batch) re-reads rows.
import type { Kysely, Migration } from 'kysely';

export const sourceWatermarksMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('source_watermarks')
      .addColumn('channel', 'text', (c) => c.primaryKey())
      .addColumn('watermark', 'text', (c) => c.notNull())
      .addColumn('last_key', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('source_watermarks').ifExists().execute();
  },
};
