import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { CompiledQuery, sql } from 'kysely';
import { dialectOf, dropPostgresSchema, openDatabase } from '../../adapters/store/db.js';
import { PREPARE } from '../../adapters/store/pg-prepared.js';
import { PG_BASE } from '../support/db.js';


describe('openDatabase', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-db-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('SQLite file: creates the parent folder, WAL journal, synchronous FULL', async () => {
    const file = path.join(dir, 'a', 'b', 'engine.db');
    const db = await openDatabase(`sqlite:${file}`);
    try {
      expect(db.dialect).toBe('sqlite');
      expect(dialectOf(db.kysely)).toBe('sqlite');
      expect(fs.existsSync(file)).toBe(true);
      const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db.kysely);
      expect(journal.rows[0].journal_mode).toBe('wal');
      const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(db.kysely);
      expect(sync.rows[0].synchronous).toBe(2); // FULL
    } finally {
      await db.close();
    }
  });

  test('SQLite in memory', async () => {
    const db = await openDatabase('sqlite::memory:');
    try {
      await db.kysely.schema.createTable('t').addColumn('n', 'integer').execute();
      expect((await sql<{ n: number }>`select count(*) as n from t`.execute(db.kysely)).rows[0].n).toBe(0);
    } finally {
      await db.close();
    }
  });

  test('rejects unknown schemes and unsafe schema names', async () => {
    await expect(openDatabase('mysql://x')).rejects.toThrow(/unsupported database URL/);
    await expect(openDatabase('sqlite:')).rejects.toThrow(/needs a path/);
    await expect(openDatabase(`${PG_BASE}?schema=a";drop`)).rejects.toThrow(/invalid PostgreSQL schema name/);
  });

  test('PostgreSQL ?schema= is created, used as search_path and isolates runs; int8 reads as number; JIT is off', async () => {
    const urlA = `${PG_BASE}?schema=tl_dbtest_${crypto.randomBytes(4).toString('hex')}`;
    const urlB = `${PG_BASE}?schema=tl_dbtest_${crypto.randomBytes(4).toString('hex')}`;
    const a = await openDatabase<{ things: { n: number } }>(urlA);
    const b = await openDatabase<{ things: { n: number } }>(urlB);
    try {
      expect(a.dialect).toBe('postgres');
      expect(dialectOf(a.kysely)).toBe('postgres');
      expect(a.location).not.toContain('postgres@');
      await a.kysely.schema.createTable('things').addColumn('n', 'bigint').execute();
      await a.kysely.insertInto('things').values({ n: 1795689000000 }).execute();
      const rows = await a.kysely.selectFrom('things').selectAll().execute();
      expect(rows).toEqual([{ n: 1795689000000 }]);
      await expect(b.kysely.selectFrom('things').selectAll().execute()).rejects.toThrow(/does not exist/);
      // Short queries: no JIT compilation on any connection (see openPostgres).
      const jit = await Promise.all([1, 2, 3].map(() => sql<{ jit: string }>`show jit`.execute(a.kysely)));
      expect(jit.map((r) => r.rows[0].jit)).toEqual(['off', 'off', 'off']);
    } finally {
      await a.close();
      await b.close();
      await dropPostgresSchema(urlA);
      await dropPostgresSchema(urlB);
    }
  });

  test('PostgreSQL: a statement marked PREPARE runs as a named statement, prepared once per connection', async () => {
    const url = `${PG_BASE}?schema=tl_test_${crypto.randomBytes(6).toString('hex')}`;
    const db = await openDatabase(url);
    try {
      const prepared = await db.kysely.connection().execute(async (conn) => {
        const marked = CompiledQuery.raw(`${PREPARE}select $1::int + 1 as "n"`, [41]);
        const first = await conn.executeQuery<{ n: number }>(marked);
        const second = await conn.executeQuery<{ n: number }>(CompiledQuery.raw(marked.sql, [1]));
        expect([first.rows[0].n, second.rows[0].n]).toEqual([42, 2]);
        await conn.executeQuery(CompiledQuery.raw('select $1::int as "unmarked"', [1]));
        return (await conn.executeQuery<{ statement: string }>(CompiledQuery.raw('select statement from pg_prepared_statements', []))).rows;
      });
      expect(prepared.map((r) => r.statement)).toEqual([`${PREPARE}select $1::int + 1 as "n"`]);
    } finally {
      await db.close();
      await dropPostgresSchema(url);
    }
  });
});
