// Opens a database for Tramline: SQLite (embedded default) or PostgreSQL, behind one Kysely
// instance so every query is written once for both. General on purpose: the store, the
// embedded queue, the audit trail and case-system inbox tables all open their db here.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { Kysely, PostgresAdapter, SqliteDialect, type SqliteDatabase } from 'kysely';
import { CurrentSchemaPostgresDialect } from './pg-introspector.js';
import { preparingPool } from './pg-prepared.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Db<DB = unknown> {
  readonly kysely: Kysely<DB>;
  readonly dialect: DialectName;
  /** PostgreSQL schema selected with `?schema=` (created if missing), else undefined. */
  readonly schema?: string;
  /** Where the data lives without credentials: a file path, `:memory:` or host/database. */
  readonly location: string;
  close(): Promise<void>;
}

const PG_INT8_OID = 20;

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface OpenOptions {
  /**
   * SQLite file: checkpoint the WAL into the database from a worker thread instead of inside
   * the commit that fills it (which holds up the engine's thread, and every ACK behind it, while
   * it copies and syncs ~4 MB). For a database written all the time (the store).
   */
  backgroundCheckpoints?: boolean;
}

/**
 * `sqlite:./data/tramline.db`, `sqlite::memory:` or `postgres://user@host:5432/db[?schema=name]`.
 * Times are stored as epoch milliseconds (bigint) in both engines; PostgreSQL int8 values are
 * returned as JS numbers, so do not keep integers beyond 2^53 in int8 columns.
 */
export async function openDatabase<DB = unknown>(url: string, options: OpenOptions = {}): Promise<Db<DB>> {
  if (url.startsWith('sqlite:')) return openSqlite<DB>(url.slice('sqlite:'.length), options);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres<DB>(url);
  throw new Error(`unsupported database URL scheme (expected sqlite: or postgres://): ${url.split(':')[0]}`);
}

/**
 * The store holds patient data: its folder is created 0700 and the database file 0600 before
 * SQLite opens it (SQLite gives its -wal and -shm files the database file's mode).
 */
function createPrivate(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  try {
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** A database URL fit for an error message or a log: any password replaced. */
export function shownDbUrl(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return url;
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return `${parsed.toString()} (password hidden)`;
  } catch {
    return `${url.split(':')[0]}://… (unparseable URL hidden)`;
  }
}

function openSqlite<DB>(file: string, options: OpenOptions): Db<DB> {
  if (file === '') throw new Error('sqlite URL needs a path, e.g. sqlite:./data/tramline.db or sqlite::memory:');
  if (file !== ':memory:') createPrivate(file);
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  // Store-before-ACK: a commit must survive power loss, so WAL is fsynced on every commit.
  // NORMAL would only survive a process crash. Group commit keeps the fsync count low.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Temporary b-trees (statement journals of multi-row writes, `in (…)` lists) in memory, not
  // in temp files: with files every such statement opened and wrote one (~70 µs each). They
  // hold one statement's scratch, never data.
  sqlite.pragma('temp_store = MEMORY');
  const kysely = new Kysely<DB>({ dialect: new SqliteDialect({ database: reusingStatements(sqlite) }) });
  const checkpointer = options.backgroundCheckpoints && file !== ':memory:' ? startCheckpointer(sqlite, file) : undefined;
  return {
    kysely,
    dialect: 'sqlite',
    location: file,
    close: async () => {
      await checkpointer?.stop();
      await kysely.destroy();
    },
  };
}

/** How often the checkpoint worker copies committed WAL frames into the database file. */
const CHECKPOINT_INTERVAL_MS = 200;
/**
 * With a checkpoint worker, the writer still checkpoints itself past this many WAL pages (~40
 * MB): should the worker fall behind or stop, the WAL cannot grow without bound.
 */
const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;

/**
 * The worker: its own connection to the file, a PASSIVE checkpoint (never waits for the writer
 * or readers, copies what it can) every interval. Durability is SQLite's either way: a commit is
 * on disk once its WAL frames are synced; a checkpoint only moves them into the database file,
 * syncing it before the WAL is reused.
 */
const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = FULL');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or gone: the next round, or the writer's own fallback */ }
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

function startCheckpointer(sqlite: Database.Database, file: string): { stop(): Promise<void> } {
  sqlite.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  const worker = new Worker(CHECKPOINT_WORKER, {
    eval: true,
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: path.resolve(file), intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', () => {
    // Without the worker the writer checkpoints as SQLite does by default.
    if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
  });
  return {
    async stop() {
      // Referenced again: the process must not end while waiting for the worker to close.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}

/** Prepared statements kept per connection; the least recently used is dropped beyond this. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every query again on every call (a sixth of the engine's
 * time under load). The same SQL text gets the same prepared statement back here instead.
 * Safe on one connection: better-sqlite3 runs a statement to completion (`all`/`run`) before
 * it returns, and SQLite re-prepares a statement itself when the schema changes under it.
 */
function reusingStatements(sqlite: Database.Database): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        // Most recently used last: Map keeps insertion order.
        cache.delete(text);
      } else {
        statement = sqlite.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(text, statement);
      return statement;
    },
  };
}

/** The PostgreSQL driver loads only when a postgres:// URL is opened (CLI start-up stays light on SQLite). */
const loadPg = async (): Promise<typeof pg> => (await import('pg')).default;

async function openPostgres<DB>(url: string): Promise<Db<DB>> {
  const pg = await loadPg();
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name: ${schema}`);
  const connectionString = parsed.toString();
  if (schema) {
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      await client.query(`create schema if not exists "${schema}"`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    // search_path in the startup packet applies before the first query on every connection.
    options: schema ? `-c search_path="${schema}"` : undefined,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // No JIT compilation: these are short queries, and one whose row estimate is pessimistic (a
  // search page's LIMIT over a status the planner cannot estimate) passes jit_above_cost and
  // spent ~7 ms compiling for 0.3 ms of execution. Queued on the new connection before any
  // other query; a server without JIT (before PostgreSQL 11) refuses the setting, which is fine.
  pool.on('connect', (client) => {
    client.query('set jit = off').catch(() => undefined);
  });
  const kysely = new Kysely<DB>({ dialect: new CurrentSchemaPostgresDialect({ pool: preparingPool(pool) }) });
  const location = `${parsed.host}${parsed.pathname}${schema ? `#${schema}` : ''}`;
  return { kysely, dialect: 'postgres', schema, location, close: () => kysely.destroy() };
}

/** Drop a PostgreSQL schema and everything in it (test clean-up). */
export async function dropPostgresSchema(url: string): Promise<void> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  if (!schema || !SCHEMA_NAME.test(schema)) throw new Error('dropPostgresSchema needs a ?schema=<name> URL');
  parsed.searchParams.delete('schema');
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: parsed.toString() });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** Which engine a Kysely instance talks to (migrations receive only the Kysely instance). */
export function dialectOf<DB>(kysely: Kysely<DB>): DialectName {
  return kysely.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
