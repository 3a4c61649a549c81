// API tokens for systems: only the SHA-256 of each token is kept; the token itself is shown
// once at creation. Revoked tokens stay (revoked_at set) so the audit trail can name them.
import type { Kysely, Migration } from 'kysely';

export const apiTokensMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('organisation', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('api_tokens_name').on('api_tokens').column('name').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('api_tokens').ifExists().execute();
  },
};
