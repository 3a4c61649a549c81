// Hand-compiled multi-row statements for the store's hot writes. The query builder builds and
// freezes an operation tree per value (a 200-row insert is thousands of objects) and compiles
// it again on every call; on the intake path that was ~10% of the engine's CPU. These produce
// the same SQL text directly. Identifiers are fixed strings from this module, never input.
import { CompiledQuery } from 'kysely';
import type { DialectName } from './db.js';

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

/** `insert into table (columns) values … <tail>`; rows are value arrays in column order. */
export function bulkInsert(dialect: DialectName, table: string, columns: readonly string[], rows: SqlValue[][], tail = ''): CompiledQuery {
  const params: SqlValue[] = [];
  for (const row of rows) {
    if (row.length !== columns.length) throw new Error(`bulk insert into ${table}: ${row.length} values for ${columns.length} columns`);
    for (const v of row) params.push(v);
  }
  const text = `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values ${valuesList(dialect, rows.length, columns.length)}${tail ? ` ${tail}` : ''}`;
  return CompiledQuery.raw(text, params);
}

/** `update table set a = ?, b = ? where key in (…)`. */
export function bulkUpdateWhereIn(dialect: DialectName, table: string, set: Record<string, SqlValue>, key: string, keys: string[]): CompiledQuery {
  const columns = Object.keys(set);
  const params: SqlValue[] = [...columns.map((c) => set[c]), ...keys];
  let n = 0;
  const mark = () => (dialect === 'postgres' ? `$${++n}` : '?');
  const assignments = columns.map((c) => `${quote(c)} = ${mark()}`).join(', ');
  const list = keys.map(() => mark()).join(', ');
  return CompiledQuery.raw(`update ${quote(table)} set ${assignments} where ${quote(key)} in (${list})`, params);
}
