// Opening the store: a database that cannot be reached is named by its setting (password
// hidden), a SQLite store is private to the engine's user (folder 0700, files 0600), and patient
// keys an earlier version stored in clear are hashed at start.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { loadAuditKey } from '../../server/audit/key.js';
import { devKeySet } from '../../server/auth/dev-issuer.js';
import { loadConfig } from '../../core/config.js';
import { openStore } from '../../server/open-store.js';
import { freePort, runCli } from '../support/engine.js';
import { PG_BASE } from '../support/db.js';
import { dropPostgresSchema } from '../../adapters/store/db.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-open-'));
  dirs.push(dir);
  return dir;
}

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

describe('a store that cannot be reached', () => {
  test('names TRAMLINE_DB_URL with the password hidden, and the reason', async () => {
    const port = await freePort();
    const url = `postgres://postgres:S3cretPw@127.0.0.1:${port}/test`;
    const opening = openStore(loadConfig({ TRAMLINE_DB_URL: url, TRAMLINE_DATA_DIR: path.join(tempDir(), 'data') }));
    await expect(opening).rejects.toThrow(`cannot reach the store at TRAMLINE_DB_URL=postgres://postgres:***@127.0.0.1:${port}/test (password hidden): `);
    await expect(opening).rejects.toThrow(/ECONNREFUSED/);
    await expect(opening).rejects.not.toThrow(/S3cretPw/);
  });

  test('the CLI says so and exits 1', async () => {
    const port = await freePort();
    const dir = tempDir();
    const result = await runCli(['messages', 'list'], { ...process.env, TRAMLINE_DB_URL: `postgres://postgres:S3cretPw@127.0.0.1:${port}/test`, TRAMLINE_DATA_DIR: path.join(dir, 'data') }, dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`tramline: cannot reach the store at TRAMLINE_DB_URL=postgres://postgres:***@127.0.0.1:${port}/test (password hidden): `);
    expect(result.stderr).not.toContain('S3cretPw');
  }, 60000);
});

describe('SQLite store files', () => {
  test('the data folder is 0700; the database, its WAL and shared-memory files, the content key and the audit key are 0600', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const opened = await openStore(loadConfig({ TRAMLINE_DATA_DIR: dataDir }));
    try {
      await opened.store.receive({ channel: 'c', receivedAt: new Date(), sender: 'S', controlId: crypto.randomUUID(), status: 'received', raw: 'MSH|^~\\&|X' });
      expect(mode(dataDir)).toBe('700');
      for (const file of ['tramline.db', 'tramline.db-wal', 'tramline.db-shm', 'content.key', 'audit.key']) expect([file, mode(path.join(dataDir, file))]).toEqual([file, '600']);
    } finally {
      await opened.store.close();
      await opened.db.close();
    }
  });

  test('whichever key is made first, the data folder it creates is 0700', async () => {
    const makers = [async (dir: string) => loadAuditKey({ dataDir: dir }), (dir: string) => devKeySet(path.join(dir, 'dev-jwt-key.json'))];
    for (const make of makers) {
      const dataDir = path.join(tempDir(), 'data');
      await make(dataDir);
      expect(mode(dataDir)).toBe('700');
    }
  });
});

describe('opening a store written by an earlier version', () => {
  test('patient keys stored in clear are replaced by keyed hashes at start', async () => {
    const dir = tempDir();
    const config = loadConfig({ TRAMLINE_DB_URL: `sqlite:${path.join(dir, 'data', 'store.db')}`, TRAMLINE_DATA_DIR: path.join(dir, 'data') });
    const first = await openStore(config);
    const id = crypto.randomUUID();
    await first.db.kysely
      .insertInto('messages')
      .values({ id, channel: 'old', received_at: 0, sender: '', control_id: null, message_type: null, patient_key: 'nhs:9434765919', status: 'sent', error: null, updated_at: 0 })
      .execute();
    await first.store.close();
    await first.db.close();

    const second = await openStore(config);
    try {
      const row = await second.db.kysely.selectFrom('messages').select('patient_key').where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.patient_key).toBe(second.store.partitionKeyOf('nhs:9434765919'));
      expect((await second.store.list({ patientKey: 'nhs:9434765919' })).map((m) => [m.id, m.patientKey])).toEqual([[id, 'nhs:9434765919']]);
    } finally {
      await second.store.close();
      await second.db.close();
    }
  });
});

describe('several processes on one store', () => {
  test('a second engine with keys of its own (its own data folder) is refused at start, naming the key to share', async () => {
    const schema = `tl_open_${crypto.randomBytes(5).toString('hex')}`;
    const url = `${PG_BASE}?schema=${schema}`;
    const first = await openStore(loadConfig({ TRAMLINE_DB_URL: url, TRAMLINE_DATA_DIR: path.join(tempDir(), 'data') }));
    try {
      await expect(openStore(loadConfig({ TRAMLINE_DB_URL: url, TRAMLINE_DATA_DIR: path.join(tempDir(), 'data') }))).rejects.toThrow(
        /^this store was written with the audit key \(TRAMLINE_AUDIT_KEY, or audit\.key in TRAMLINE_DATA_DIR\) k[0-9a-f]{12}, this process has k[0-9a-f]{12}: every engine and CLI on one store must use the same keys/,
      );
      // Sharing the keys (as a deployment supplies them from its secret store) lets it in.
      const shared = { TRAMLINE_CONTENT_KEY: crypto.randomBytes(32).toString('base64'), TRAMLINE_AUDIT_KEY: crypto.randomBytes(32).toString('base64') };
      const other = `${PG_BASE}?schema=${schema}_b`;
      const a = await openStore(loadConfig({ TRAMLINE_DB_URL: other, TRAMLINE_DATA_DIR: path.join(tempDir(), 'data'), ...shared }));
      const b = await openStore(loadConfig({ TRAMLINE_DB_URL: other, TRAMLINE_DATA_DIR: path.join(tempDir(), 'data'), ...shared }));
      for (const o of [a, b]) {
        await o.store.close();
        await o.db.close();
      }
      await dropPostgresSchema(other);
    } finally {
      await first.store.close();
      await first.db.close();
      await dropPostgresSchema(url);
    }
  });
});
