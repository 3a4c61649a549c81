// Content stages a destination reports (what it sent, what came back) are kept per destination:
// message_content gains a `destination` column ('' for the message's own stages, raw and
// transformed) and it joins the primary key. SQLite cannot change a primary key in place, so
// there the table is rebuilt; PostgreSQL adds the column (no rewrite) and rebuilds the key.
import type { CreateTableBuilder, Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import { dialectOf } from '../db.js';
import { bytesType } from './column-types.js';

const COLUMNS = ['message_id', 'stage', 'key_id', 'iv', 'tag', 'ciphertext'];

async function rebuildSqlite(db: Kysely<unknown>, withDestination: boolean): Promise<void> {
  const bytes = bytesType(db);
  let table: CreateTableBuilder<'message_content_next', string> = db.schema
    .createTable('message_content_next')
    .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
    .addColumn('stage', 'text', (c) => c.notNull());
  if (withDestination) table = table.addColumn('destination', 'text', (c) => c.notNull().defaultTo(''));
  await table
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('iv', bytes, (c) => c.notNull())
    .addColumn('tag', bytes, (c) => c.notNull())
    .addColumn('ciphertext', bytes, (c) => c.notNull())
    .addPrimaryKeyConstraint('message_content_pk', withDestination ? ['message_id', 'stage', 'destination'] : ['message_id', 'stage'])
    .execute();
  const columns = sql.join(COLUMNS.map((c) => sql.ref(c)));
  // Going back, only the message's own stages fit the old key.
  const where = withDestination ? sql`` : sql` where "destination" = ''`;
  await sql`insert into "message_content_next" (${columns}) select ${columns} from "message_content"${where}`.execute(db);
  await db.schema.dropTable('message_content').execute();
  await db.schema.alterTable('message_content_next').renameTo('message_content').execute();
}

export const contentPerDestinationMigration: Migration = {
  async up(db: Kysely<unknown>) {
    if (dialectOf(db) === 'sqlite') return rebuildSqlite(db, true);
    await db.schema.alterTable('message_content').addColumn('destination', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema.alterTable('message_content').dropConstraint('message_content_pk').execute();
    await db.schema.alterTable('message_content').addPrimaryKeyConstraint('message_content_pk', ['message_id', 'stage', 'destination']).execute();
  },
  async down(db: Kysely<unknown>) {
    if (dialectOf(db) === 'sqlite') return rebuildSqlite(db, false);
    await sql`delete from "message_content" where "destination" <> ''`.execute(db);
    await db.schema.alterTable('message_content').dropConstraint('message_content_pk').execute();
    await db.schema.alterTable('message_content').dropColumn('destination').execute();
    await db.schema.alterTable('message_content').addPrimaryKeyConstraint('message_content_pk', ['message_id', 'stage']).execute();
  },
};
