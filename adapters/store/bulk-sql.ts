// Hand-compiled multi-row statements for the store's hot writes. The query builder builds and
// freezes an operation tree per value (a 200-row insert is thousands of objects) and compiles
// it again on every call; on the intake path that was ~10% of the engine's CPU. These produce
// the SQL text directly. Identifiers are fixed strings from the calling modules, never input.
import { CompiledQuery } from 'kysely';
import type { DialectName } from './db.js';
import { PREPARE } from './pg-prepared.js';

export type SqlValue = string | number | Buffer | null;

/** Placeholders for `rows` × `width` values: `($1, $2), ($3, $4)` or `(?, ?), (?, ?)`. */
function valuesList(dialect: DialectName, rows: number, width: number): string {
  const groups: string[] = [];
  let n = 0;
  for (let r = 0; r < rows; r++) {
    const marks: string[] = [];
    for (let c = 0; c < width; c++) marks.push(dialect === 'postgres' ? `$${++n}` : '?');
    groups.push(`(${marks.join(', ')})`);
  }
  return groups.join(', ');
}

const quote = (name: string): string => `"${name}"`;

/** PostgreSQL column types the array form of a bulk insert casts to. */
export type PgColumnType = 'text' | 'bigint' | 'integer' | 'bytea';

/** Column name and its PostgreSQL type. */
export type TypedColumns = readonly (readonly [name: string, pgType: PgColumnType])[];

/**
 * `insert into table (columns) … <tail>`; rows are value arrays in column order. PostgreSQL
 * gets one array parameter per column (`select * from unnest($1::text[], …)`): a 200-row insert
 * binds 10 parameters instead of 2,000, which the server parses and plans far faster than a
 * VALUES list. Rows with binary (bytea) columns, and SQLite, get a VALUES list.
 */
export function bulkInsert(dialect: DialectName, table: string, columns: TypedColumns, rows: SqlValue[][], tail = ''): CompiledQuery {
  const names = columns.map(([name]) => quote(name)).join(', ');
  const end = tail ? ` ${tail}` : '';
  for (const row of rows) if (row.length !== columns.length) throw new Error(`bulk insert into ${table}: ${row.length} values for ${columns.length} columns`);
  // Binary columns stay in a VALUES list: arrays travel as text, so bytea would go as hex.
  if (dialect === 'postgres' && !columns.some(([, type]) => type === 'bytea')) {
    const arrays = columns.map((_, c) => rows.map((row) => row[c]));
    // Same text for every batch size: prepared once per connection.
    return CompiledQuery.raw(`${PREPARE}insert into ${quote(table)} (${names}) select * from ${unnestColumns(columns, 1)}${end}`, arrays);
  }
  const params: SqlValue[] = [];
  for (const row of rows) for (const v of row) params.push(v);
  return CompiledQuery.raw(`insert into ${quote(table)} (${names}) values ${valuesList(dialect, rows.length, columns.length)}${end}`, params);
}

/** `update table set a = ?, b = ? where key in (…)` (PostgreSQL: `key = any($n::text[])`). */
export function bulkUpdateWhereIn(dialect: DialectName, table: string, set: Record<string, SqlValue>, key: string, keys: string[]): CompiledQuery {
  const columns = Object.keys(set);
  let n = 0;
  const mark = () => (dialect === 'postgres' ? `$${++n}` : '?');
  const assignments = columns.map((c) => `${quote(c)} = ${mark()}`).join(', ');
  const values = columns.map((c) => set[c]);
  if (dialect === 'postgres') return CompiledQuery.raw(`${PREPARE}update ${quote(table)} set ${assignments} where ${quote(key)} = any(${mark()}::text[])`, [...values, keys]);
  const list = keys.map(() => mark()).join(', ');
  return CompiledQuery.raw(`update ${quote(table)} set ${assignments} where ${quote(key)} in (${list})`, [...values, ...keys]);
}

/** `unnest($first::type[], …)` over `columns`: one array parameter per column, numbered from `first`. */
export function unnestColumns(columns: TypedColumns, first: number): string {
  return `unnest(${columns.map(([, type], c) => `$${first + c}::${type}[]`).join(', ')})`;
}

/**
 * PostgreSQL: several statements as one (`with s1 as (…), s2 as (…) <last>`), their parameters
 * renumbered in order. Each part sees the table as it was before the whole statement, so the
 * parts must not depend on each other's rows. Prepared when every part is.
 */
export function chainStatements(parts: CompiledQuery[]): CompiledQuery {
  const params: unknown[] = [];
  const texts = parts.map((part) => {
    const offset = params.length;
    params.push(...part.parameters);
    return part.sql.replace(PREPARE, '').replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
  });
  const prepared = parts.every((part) => part.sql.startsWith(PREPARE)) ? PREPARE : '';
  const last = texts.pop() ?? '';
  return CompiledQuery.raw(`${prepared}with ${texts.map((t, i) => `s${i} as (${t})`).join(', ')} ${last}`, params);
}
