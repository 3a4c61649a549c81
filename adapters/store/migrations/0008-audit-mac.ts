// Audit entries carry a MAC made with the audit key (kept outside the database): the hash chain
// alone can be recomputed by anyone who can write the table. Entries written before this
// migration have none; `tramline audit verify` reports them as unkeyed, not as tampered.
import type { Kysely, Migration } from 'kysely';

export const auditMacMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('audit_log').addColumn('mac', 'text').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('audit_log').dropColumn('mac').execute();
  },
};
