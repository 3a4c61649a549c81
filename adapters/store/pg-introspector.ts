// Table introspection limited to the store's own PostgreSQL schema (the connection's search_path).
// Kysely's own introspector lists the tables of every schema and then names each again in
// pg_get_serial_sequence, so a schema that another user of the database drops in between fails
// the store's migration check with `schema "…" does not exist`. Kysely's migrator is the only
// reader here, and it only asks whether its tables exist; the columns are reported as well so
// that the answer is a complete one.
import { PostgresDialect, PostgresIntrospector, sql, type DatabaseIntrospector, type DatabaseMetadata, type DatabaseMetadataOptions, type Kysely, type SchemaMetadata, type TableMetadata } from 'kysely';

/** Tables Kysely's migrator keeps its state in (left out unless asked for, as Kysely does). */
const KYSELY_TABLES = /^kysely_migration(_lock)?$/;

interface ColumnRow {
  table_name: string;
  table_schema: string;
  is_view: boolean;
  column_name: string;
  data_type: string;
  data_type_schema: string;
  is_nullable: boolean;
  has_default: boolean;
  is_auto_incrementing: boolean;
  column_comment: string | null;
}

export class CurrentSchemaIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<unknown>) {}

  getSchemas(): Promise<SchemaMetadata[]> {
    return new PostgresIntrospector(this.db).getSchemas();
  }

  async getTables(options: DatabaseMetadataOptions = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    const { rows } = await sql<ColumnRow>`
      select c.relname as table_name, c.relkind = 'v' as is_view, ns.nspname as table_schema,
             a.attname as column_name, typ.typname as data_type, dtns.nspname as data_type_schema,
             not a.attnotnull as is_nullable, a.atthasdef as has_default,
             (a.attidentity <> '' or coalesce(pg_get_expr(d.adbin, d.adrelid) like 'nextval(%', false)) as is_auto_incrementing,
             col_description(a.attrelid, a.attnum) as column_comment
        from pg_catalog.pg_class c
        join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
        join pg_catalog.pg_attribute a on a.attrelid = c.oid
        join pg_catalog.pg_type typ on typ.oid = a.atttypid
        join pg_catalog.pg_namespace dtns on dtns.oid = typ.typnamespace
        left join pg_catalog.pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
       where ns.nspname = current_schema() and c.relkind in ('r', 'v', 'p') and a.attnum > 0 and not a.attisdropped
       order by c.relname, a.attnum`.execute(this.db);
    const tables = new Map<string, TableMetadata>();
    for (const row of rows) {
      if (!options.withInternalKyselyTables && KYSELY_TABLES.test(row.table_name)) continue;
      let table = tables.get(row.table_name);
      if (!table) tables.set(row.table_name, (table = { name: row.table_name, isView: row.is_view, schema: row.table_schema, columns: [] }));
      table.columns.push({
        name: row.column_name,
        dataType: row.data_type,
        dataTypeSchema: row.data_type_schema,
        isNullable: row.is_nullable,
        hasDefaultValue: row.has_default,
        isAutoIncrementing: row.is_auto_incrementing,
        comment: row.column_comment ?? undefined,
      });
    }
    return [...tables.values()];
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

/** PostgreSQL as Kysely's dialect has it, with introspection kept to the current schema. */
export class CurrentSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}
