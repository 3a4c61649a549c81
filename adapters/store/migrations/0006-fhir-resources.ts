// Sandbox FHIR store (server/fhir): every version of every resource, sealed like message
// content, plus a plaintext index of the search parameters (type, id, identifiers,
// references) so searches never decrypt. `fhir_lock` (one row) is unused since writers
// serialise with an advisory lock instead (server/fhir/transaction.ts); kept because this
// migration may already have run.
import type { Kysely, Migration } from 'kysely';
import { bytesType } from './column-types.js';

export const fhirResourcesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    const bytes = bytesType(db);
    await db.schema
      .createTable('fhir_resources')
      .addColumn('resource_type', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('version_id', 'integer', (c) => c.notNull())
      .addColumn('last_updated', 'bigint', (c) => c.notNull())
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('fhir_resources_pk', ['resource_type', 'id'])
      .execute();

    await db.schema
      .createTable('fhir_versions')
      .addColumn('resource_type', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('version_id', 'integer', (c) => c.notNull())
      .addColumn('last_updated', 'bigint', (c) => c.notNull())
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('iv', bytes, (c) => c.notNull())
      .addColumn('tag', bytes, (c) => c.notNull())
      .addColumn('ciphertext', bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('fhir_versions_pk', ['resource_type', 'id', 'version_id'])
      .execute();

    await db.schema
      .createTable('fhir_index')
      .addColumn('resource_type', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      // 'identifier' (system + value) or 'reference' (name = element path, value = Type/id)
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('system', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('fhir_index_lookup').on('fhir_index').columns(['kind', 'value', 'resource_type']).execute();
    await db.schema.createIndex('fhir_index_resource').on('fhir_index').columns(['resource_type', 'id']).execute();

    await db.schema
      .createTable('fhir_lock')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('writes', 'bigint', (c) => c.notNull())
      .execute();
    await (db as Kysely<{ fhir_lock: { id: number; writes: number } }>).insertInto('fhir_lock').values({ id: 1, writes: 0 }).execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['fhir_lock', 'fhir_index', 'fhir_versions', 'fhir_resources']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
