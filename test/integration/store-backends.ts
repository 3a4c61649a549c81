// Test helper: the two database engines every store/queue test runs against. PostgreSQL gets a
// unique schema per run (dropped afterwards); SQLite a file in a fresh temp folder. A missing
// PostgreSQL makes the tests fail, not skip.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dropPostgresSchema, openDatabase, type Db } from '../../adapters/store/db.js';
import { migrateToLatest } from '../../adapters/store/migrations/index.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { PG_BASE } from '../support/db.js';

export const BACKENDS = ['sqlite', 'postgres'] as const;
export type BackendName = (typeof BACKENDS)[number];


export interface TestBackend {
  name: BackendName;
  url: string;
  /** SQLite: the database file (for byte searches). */
  file?: string;
  open(): Promise<Db<StoreDatabase>>;
  /** Open and migrate. */
  openMigrated(): Promise<Db<StoreDatabase>>;
  cleanup(): Promise<void>;
}

export function createBackend(name: BackendName): TestBackend {
  const suffix = crypto.randomBytes(6).toString('hex');
  let url: string;
  let file: string | undefined;
  let dir: string | undefined;
  if (name === 'sqlite') {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-store-'));
    file = path.join(dir, 'nested', 'store.db');
    url = `sqlite:${file}`;
  } else {
    url = `${PG_BASE}?schema=tl_test_${suffix}`;
  }
  const open = () => openDatabase<StoreDatabase>(url);
  return {
    name,
    url,
    file,
    open,
    async openMigrated() {
      const db = await open();
      await migrateToLatest(db.kysely, db.schema);
      return db;
    },
    async cleanup() {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      else await dropPostgresSchema(url);
    },
  };
}
