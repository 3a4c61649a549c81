// Migrating one schema while other schemas come and go on the same PostgreSQL database (other
// engines' or other test runs'): Kysely's table-exists check lists every schema's tables and then
// names each again, so a schema dropped in between used to fail the migration of an unrelated
// one with `schema "…" does not exist`. The store now introspects its own schema only
// (adapters/store/pg-introspector.ts).
import { afterAll, describe, expect, test } from '@jest/globals';
import { openDatabase } from '../../adapters/store/db.js';
import { migrateToLatest, migrations } from '../../adapters/store/migrations/index.js';
import { dropPg, uniquePgUrl } from '../support/db.js';

const urls: string[] = [];

afterAll(async () => {
  for (const url of urls) await dropPg(url);
});

/** Create a schema with a serial-keyed table, then drop it, over and over until `until` settles. */
async function churnSchemas(until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.finally(() => (done = true));
  const adminUrl = uniquePgUrl('churn_admin');
  urls.push(adminUrl);
  const admin = await openDatabase(adminUrl);
  let cycles = 0;
  try {
    while (!done) {
      const name = `t_churn_${process.pid}_${cycles}`;
      await admin.kysely.schema.createSchema(name).execute();
      await admin.kysely.schema.withSchema(name).createTable('t').addColumn('id', 'serial', (c) => c.primaryKey()).addColumn('a', 'text').addColumn('b', 'text').execute();
      await admin.kysely.schema.dropSchema(name).cascade().execute();
      cycles++;
    }
  } finally {
    await admin.close();
  }
  return cycles;
}

describe('store migrations beside other schemas', () => {
  test('a schema migrates to the latest while other schemas are created and dropped around it', async () => {
    const migrateMany = (async () => {
      const applied: string[][] = [];
      for (let i = 0; i < 12; i++) {
        const url = uniquePgUrl('migrate_race');
        urls.push(url);
        const db = await openDatabase(url);
        try {
          applied.push(await migrateToLatest(db.kysely, db.schema));
        } finally {
          await db.close();
        }
      }
      return applied;
    })();
    const [applied, cycles] = await Promise.all([migrateMany, churnSchemas(migrateMany)]);
    expect(cycles).toBeGreaterThan(0);
    for (const names of applied) expect(names).toEqual(Object.keys(migrations));
  }, 120_000);

  test("introspection sees the store's own schema only, with each table's columns", async () => {
    const url = uniquePgUrl('introspect');
    const otherUrl = uniquePgUrl('introspect_other');
    urls.push(url, otherUrl);
    const other = await openDatabase(otherUrl);
    const db = await openDatabase(url);
    try {
      await other.kysely.schema.createTable('only_elsewhere').addColumn('id', 'serial', (c) => c.primaryKey()).execute();
      await migrateToLatest(db.kysely, db.schema);
      const tables = await db.kysely.introspection.getTables();
      const names = tables.map((t) => t.name);
      expect(names).toContain('messages');
      expect(names).not.toContain('only_elsewhere');
      expect(names).not.toContain('kysely_migration');
      expect(tables.every((t) => t.schema === db.schema)).toBe(true);
      const id = tables.find((t) => t.name === 'messages')?.columns.find((c) => c.name === 'id');
      expect(id).toMatchObject({ dataType: 'text', isNullable: false, isAutoIncrementing: false });
      const withKysely = (await db.kysely.introspection.getTables({ withInternalKyselyTables: true })).map((t) => t.name);
      expect(withKysely).toEqual(expect.arrayContaining(['kysely_migration', 'kysely_migration_lock']));
      const serial = (await other.kysely.introspection.getTables())[0].columns[0];
      expect(serial).toMatchObject({ name: 'id', dataType: 'int4', isAutoIncrementing: true, hasDefaultValue: true });
    } finally {
      await db.close();
      await other.close();
    }
  });
});
