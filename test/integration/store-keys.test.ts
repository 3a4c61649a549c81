import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { loadContentKeys } from '../../adapters/store/crypto.js';

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
