// The few DDL details that differ between SQLite and PostgreSQL, named once so migration
// files stay dialect-neutral.
import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely';
import { dialectOf } from '../db.js';

/** Binary column type: `bytea` in PostgreSQL, `blob` in SQLite. */
export function bytesType(db: Kysely<unknown>): 'bytea' | 'blob' {
  return dialectOf(db) === 'postgres' ? 'bytea' : 'blob';
}

/** Adds an auto-incrementing integer primary key whose values grow in insert order. */
export function withSequenceKey<T extends string>(db: Kysely<unknown>, table: CreateTableBuilder<T>, column: string): CreateTableBuilder<T> {
  if (dialectOf(db) === 'postgres') return table.addColumn(column, 'bigserial', (c: ColumnDefinitionBuilder) => c.primaryKey());
  return table.addColumn(column, 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement());
}
