// The audit trail: one append-only, hash-chained table. Each row carries the SHA-256 of the row
// before it (prev_hash) and of its own canonical form (hash), so an edited, inserted or deleted
// row breaks the chain (`tramline audit verify`). Triggers refuse UPDATE/DELETE as a first
// line of defence; the chain catches anyone who drops them. Never pruned with message content.
import { sql, type Kysely, type Migration } from 'kysely';
import { dialectOf } from '../db.js';

export const auditLogMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('audit_log')
      .addColumn('seq', 'bigint', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('actor', 'text')
      .addColumn('actor_kind', 'text')
      .addColumn('role', 'text')
      .addColumn('organisation', 'text')
      .addColumn('source_ip', 'text')
      .addColumn('target', 'text')
      .addColumn('message_id', 'text')
      .addColumn('patient', 'text')
      .addColumn('purpose', 'text')
      .addColumn('break_glass', 'text')
      .addColumn('detail', 'text')
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
    await db.schema.createIndex('audit_log_patient').on('audit_log').columns(['patient', 'at']).execute();
    await db.schema.createIndex('audit_log_message').on('audit_log').column('message_id').execute();
    await db.schema.createIndex('audit_log_category').on('audit_log').columns(['category', 'at']).execute();

    if (dialectOf(db) === 'postgres') {
      await sql`create or replace function tramline_audit_append_only() returns trigger language plpgsql as $$
        begin raise exception 'audit_log is append-only'; end $$`.execute(db);
      await sql`create trigger audit_log_no_change before update or delete on audit_log
        for each row execute function tramline_audit_append_only()`.execute(db);
      await sql`create trigger audit_log_no_truncate before truncate on audit_log
        for each statement execute function tramline_audit_append_only()`.execute(db);
    } else {
      await sql`create trigger audit_log_no_update before update on audit_log
        begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
      await sql`create trigger audit_log_no_delete before delete on audit_log
        begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
    }
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('audit_log').ifExists().execute();
    if (dialectOf(db) === 'postgres') await sql`drop function if exists tramline_audit_append_only()`.execute(db);
  },
};
