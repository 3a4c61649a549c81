// Encryption at rest for message content: AES-256-GCM, a fresh random 12-byte IV per row and
// the key id stored beside the ciphertext, so keys can rotate (new rows use the current key,
// old rows stay readable while their key is still listed).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../core/config.js';
import { log } from '../../core/logger.js';

export interface ContentKeyRing {
  /** Key id used to seal new content. */
  readonly currentId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
  /**
   * TRAMLINE_INDEX_KEY: the key of the store's keyed-hash patient index (index-key.ts). Absent:
   * derived from the content keys. Kept with them because whatever seals a row also hashes it.
   */
  readonly indexKey?: Buffer;
}

export interface Sealed {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;

function decodeKey(text: string, what = 'content key'): Buffer {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (bytes.length !== KEY_BYTES) throw new Error(`${what} must be ${KEY_BYTES} bytes (base64 or hex), got ${bytes.length}`);
  return bytes;
}

/** Parse `TRAMLINE_INDEX_KEY`: 32 bytes in base64 or hex, as a content key (no id, no list). */
export function parseIndexKey(spec: string): Buffer {
  return decodeKey(spec, 'TRAMLINE_INDEX_KEY');
}

/** A key's id from its bytes (a content key without an explicit id, the audit and index keys): stable, one-way. */
export function fingerprint(key: Buffer): string {
  return 'k' + crypto.createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/**
 * Parse `TRAMLINE_CONTENT_KEY`: `<key>`, `<id>:<key>` or a comma list of those where the first
 * is current and the rest are older keys kept for reading. `<key>` is 32 bytes in base64 or hex.
 */
export function parseContentKeys(spec: string): ContentKeyRing {
  const keys = new Map<string, Buffer>();
  let currentId: string | undefined;
  for (const entry of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const colon = entry.indexOf(':');
    const key = decodeKey(colon >= 0 ? entry.slice(colon + 1) : entry);
    const id = colon >= 0 ? entry.slice(0, colon) : fingerprint(key);
    if (!KEY_ID.test(id)) throw new Error(`content key id "${id}" may use only letters, digits, _ . -`);
    if (keys.has(id)) throw new Error(`content key id "${id}" is listed twice`);
    keys.set(id, key);
    currentId ??= id;
  }
  if (!currentId) throw new Error('TRAMLINE_CONTENT_KEY is empty');
  return { currentId, keys };
}

/**
 * Keys from `config.contentKey` (TRAMLINE_CONTENT_KEY), with `config.indexKey`
 * (TRAMLINE_INDEX_KEY) when set. Without a content key — the development default —
 * a key is generated on first run and kept in `<dataDir>/content.key` (mode 0600). Production
 * should supply the key from a secret store instead, so it never sits beside the data it protects.
 */
export function loadContentKeys(config: Pick<Config, 'contentKey' | 'dataDir' | 'indexKey'>): ContentKeyRing {
  const ring = readContentKeys(config);
  return config.indexKey ? { ...ring, indexKey: parseIndexKey(config.indexKey) } : ring;
}

function readContentKeys(config: Pick<Config, 'contentKey' | 'dataDir'>): ContentKeyRing {
  if (config.contentKey) return parseContentKeys(config.contentKey);
  const file = path.join(config.dataDir, 'content.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 }); // holds the key and, by default, the store
    const key = crypto.randomBytes(KEY_BYTES);
    try {
      // 'wx': never overwrite a key another process wrote first (that would orphan its content).
      fs.writeFileSync(file, `${fingerprint(key)}:${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) log.warn({ file }, 'content key file is readable by other users; chmod 600 it');
  return parseContentKeys(fs.readFileSync(file, 'utf8'));
}

/**
 * IVs come from the CSPRNG 256 at a time: the same random bytes, one call instead of one per
 * message (that call alone was ~1% of the engine's CPU). Each IV is copied out, never shared.
 */
const ivPool = Buffer.alloc(IV_BYTES * 256);
let ivOffset = ivPool.length;

function randomIv(): Buffer {
  if (ivOffset === ivPool.length) {
    crypto.randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = Buffer.from(ivPool.subarray(ivOffset, ivOffset + IV_BYTES));
  ivOffset += IV_BYTES;
  return iv;
}

/** `aad` binds the ciphertext to its row (e.g. message id + stage) so rows cannot be swapped. */
export function seal(ring: ContentKeyRing, plaintext: Buffer, aad: string): Sealed {
  const key = ring.keys.get(ring.currentId)!;
  const iv = randomIv();
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { keyId: ring.currentId, iv, tag: cipher.getAuthTag(), ciphertext };
}

export function open(ring: ContentKeyRing, sealed: Sealed, aad: string): Buffer {
  const key = ring.keys.get(sealed.keyId);
  if (!key) throw new Error(`content key "${sealed.keyId}" is not configured (TRAMLINE_CONTENT_KEY)`);
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.tag);
  try {
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    throw new Error(`content could not be decrypted with key "${sealed.keyId}" (wrong key or tampered row)`);
  }
}
