import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { loadContentKeys, parseContentKeys, type ContentKeyRing } from '../../adapters/store/crypto.js';
import { checkStoreKeys, StoreKeyMismatch, type HeldKeys } from '../../adapters/store/key-checks.js';
import { BACKENDS, createBackend } from './store-backends.js';

describe('loadContentKeys', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-keys-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('uses TRAMLINE_CONTENT_KEY when given and writes no key file', () => {
    const key = crypto.randomBytes(32).toString('base64');
    const ring = loadContentKeys({ contentKey: `prod1:${key}`, dataDir: dir });
    expect(ring.currentId).toBe('prod1');
    expect(fs.existsSync(path.join(dir, 'content.key'))).toBe(false);
  });

  test('TRAMLINE_INDEX_KEY is read like a content key (base64 or hex, 32 bytes)', () => {
    const index = crypto.randomBytes(32);
    const contentKey = crypto.randomBytes(32).toString('base64');
    expect(loadContentKeys({ contentKey, indexKey: index.toString('hex'), dataDir: dir }).indexKey).toEqual(index);
    expect(loadContentKeys({ contentKey, indexKey: index.toString('base64'), dataDir: dir }).indexKey).toEqual(index);
    expect(loadContentKeys({ contentKey, dataDir: dir }).indexKey).toBeUndefined();
    expect(() => loadContentKeys({ contentKey, indexKey: 'c2hvcnQ=', dataDir: dir })).toThrow('TRAMLINE_INDEX_KEY must be 32 bytes (base64 or hex), got 5');
  });

  test('generates a dev key on first run (mode 0600) and reuses it afterwards', () => {
    const dataDir = path.join(dir, 'data');
    const first = loadContentKeys({ dataDir });
    const file = path.join(dataDir, 'content.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const second = loadContentKeys({ dataDir });
    expect(second.currentId).toBe(first.currentId);
    expect(second.keys.get(second.currentId)).toEqual(first.keys.get(first.currentId));
  });
});

describe.each(BACKENDS)('the keys a store was written with (%s)', (name) => {
  const backend = createBackend(name);
  afterAll(() => backend.cleanup());
  const secret = (n: number) => Buffer.alloc(32, n).toString('base64');
  const ring = (spec: string, indexKey?: Buffer): ContentKeyRing => ({ ...parseContentKeys(spec), ...(indexKey ? { indexKey } : {}) });
  const audit = { id: 'kaaaaaaaaaaaa', check: 'kaaaaaaaaaaaa' };
  const check = async (held: HeldKeys, at: number) => {
    const db = await backend.openMigrated();
    try {
      await checkStoreKeys(db, held, at);
      return 'ok';
    } catch (err) {
      if (!(err instanceof StoreKeyMismatch)) throw err;
      return err.message;
    } finally {
      await db.close();
    }
  };

  test('the first process records its keys; the same keys are let in again', async () => {
    expect(await check({ content: ring(`c1:${secret(1)}`), audit }, 1000)).toBe('ok');
    expect(await check({ content: ring(`c1:${secret(1)}`), audit }, 2000)).toBe('ok');
  });

  test('another audit key, or another content key of its own (two engines with generated keys) is refused, naming the key ids only', async () => {
    const otherAudit = await check({ content: ring(`c1:${secret(1)}`), audit: { id: 'kbbbbbbbbbbbb', check: 'kbbbbbbbbbbbb' } }, 3000);
    expect(otherAudit).toBe('this store was written with the audit key (TRAMLINE_AUDIT_KEY, or audit.key in TRAMLINE_DATA_DIR) kaaaaaaaaaaaa, this process has kbbbbbbbbbbbb: every engine and CLI on one store must use the same keys (docs/security.md, "Keys")');
    const otherContent = await check({ content: ring(`c2:${secret(2)}`), audit }, 3000);
    expect(otherContent).toContain('this store\'s content is sealed with content key "c1", which this process does not hold');
    const sameIdOtherBytes = await check({ content: ring(`c1:${secret(9)}`), audit }, 3000);
    expect(sameIdOtherBytes).toContain('content key "c1" (TRAMLINE_CONTENT_KEY, or content.key in TRAMLINE_DATA_DIR) is not the key of that id this store was written with');
    for (const message of [otherAudit, otherContent, sameIdOtherBytes]) {
      expect(message).not.toContain(secret(1));
      expect(message).not.toContain(secret(2));
    }
  });

  test('rotation: the new key listed first is recorded; a process with only the old key is then refused; the old key may be retired', async () => {
    expect(await check({ content: ring(`c2:${secret(2)},c1:${secret(1)}`), audit }, 4000)).toBe('ok');
    expect(await check({ content: ring(`c1:${secret(1)}`), audit }, 5000)).toContain('sealed with content key "c2"');
    expect(await check({ content: ring(`c2:${secret(2)}`), audit }, 5000)).toBe('ok');
  });

  test('TRAMLINE_INDEX_KEY: set later is recorded; then another one, or none, is refused', async () => {
    const index = Buffer.alloc(32, 5);
    expect(await check({ content: ring(`c2:${secret(2)}`, index), audit }, 6000)).toBe('ok');
    expect(await check({ content: ring(`c2:${secret(2)}`, Buffer.alloc(32, 6)), audit }, 7000)).toMatch(/^this store was written with the index key \(TRAMLINE_INDEX_KEY\) k[0-9a-f]{12}, this process has k[0-9a-f]{12}/);
    expect(await check({ content: ring(`c2:${secret(2)}`), audit }, 7000)).toMatch(/^this store's index rows are keyed with the index key \(TRAMLINE_INDEX_KEY\) k[0-9a-f]{12}, and this process has none set/);
  });
});
