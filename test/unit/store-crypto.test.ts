import crypto from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import { open, parseContentKeys, seal } from '../../adapters/store/crypto.js';

const key = crypto.randomBytes(32);
const other = crypto.randomBytes(32);

describe('parseContentKeys', () => {
  test('accepts base64, hex, id:key and a comma list whose first entry is current', () => {
    const b64 = parseContentKeys(key.toString('base64'));
    const hex = parseContentKeys(key.toString('hex'));
    expect(b64.currentId).toMatch(/^k[0-9a-f]{12}$/);
    expect(hex.currentId).toBe(b64.currentId);
    expect(hex.keys.get(hex.currentId)).toEqual(key);

    const list = parseContentKeys(`new:${other.toString('base64')}, old:${key.toString('hex')}`);
    expect(list.currentId).toBe('new');
    expect([...list.keys.keys()]).toEqual(['new', 'old']);
    expect(list.keys.get('old')).toEqual(key);
  });

  test.each([
    ['', /empty/],
    [crypto.randomBytes(16).toString('base64'), /32 bytes/],
    [`bad id:${key.toString('base64')}`, /may use only/],
    [`a:${key.toString('base64')},a:${other.toString('base64')}`, /listed twice/],
  ])('rejects %j', (spec, message) => {
    expect(() => parseContentKeys(spec)).toThrow(message);
  });
});

describe('seal / open (AES-256-GCM)', () => {
  const ring = parseContentKeys(`k1:${key.toString('base64')}`);

  test('round-trips, with a fresh IV each time and no plaintext in the ciphertext', () => {
    const plaintext = Buffer.from('PID|1||9434765919^^^NHS||TESTPERSON^Alyssa');
    const a = seal(ring, plaintext, 'message:1:raw');
    const b = seal(ring, plaintext, 'message:1:raw');
    expect(a.keyId).toBe('k1');
    expect(a.iv).toHaveLength(12);
    expect(a.tag).toHaveLength(16);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.includes(Buffer.from('TESTPERSON'))).toBe(false);
    expect(open(ring, a, 'message:1:raw')).toEqual(plaintext);
  });

  test('IVs stay distinct across many seals, each its own buffer', () => {
    const ivs = Array.from({ length: 600 }, (_, i) => seal(ring, Buffer.from(`x${i}`), `message:${i}:raw`).iv);
    expect(new Set(ivs.map((iv) => iv.toString('hex'))).size).toBe(600);
    const copy = Buffer.from(ivs[1]);
    ivs[0].fill(0);
    expect(ivs[1].equals(copy)).toBe(true);
  });

  test('fails with another key, another row (AAD) or a tampered tag', () => {
    const sealed = seal(ring, Buffer.from('hello'), 'message:1:raw');
    expect(() => open(parseContentKeys(`k1:${other.toString('base64')}`), sealed, 'message:1:raw')).toThrow(/could not be decrypted/);
    expect(() => open(ring, sealed, 'message:2:raw')).toThrow(/could not be decrypted/);
    const tag = Buffer.from(sealed.tag);
    tag[0] ^= 1;
    expect(() => open(ring, { ...sealed, tag }, 'message:1:raw')).toThrow(/could not be decrypted/);
    expect(() => open(parseContentKeys(`k2:${key.toString('base64')}`), sealed, 'message:1:raw')).toThrow(/"k1" is not configured/);
  });
});
