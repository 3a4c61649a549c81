// The audit key: an HMAC key kept outside the database. Each entry's hash carries a MAC made
// with it, and the published head is signed with it, so someone who can write the database but
// does not hold the key cannot edit an entry and recompute the chain unnoticed.
//   TRAMLINE_AUDIT_KEY  32 bytes, base64 or hex. Unset (the development default): generated on
//                       first run into <dataDir>/audit.key (mode 0600), like the content key.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { log } from '../../core/logger.js';
import { fingerprint } from '../../adapters/store/crypto.js';

const KEY_BYTES = 32;

export type MacCheck = 'ok' | 'other-key' | 'mismatch';

export class AuditKey {
  /** Fingerprint stored with each MAC, so "made with another key" can be told from "forged". */
  readonly id: string;

  constructor(private readonly secret: Buffer) {
    if (secret.length !== KEY_BYTES) throw new Error(`the audit key must be ${KEY_BYTES} bytes (base64 or hex), got ${secret.length}`);
    this.id = fingerprint(secret);
  }

  private hmac(purpose: string, text: string): string {
    return crypto.createHmac('sha256', this.secret).update(`${purpose}\n${text}`, 'utf8').digest('hex');
  }

  /** An entry's MAC, over its hash (which covers every column and the entry before). */
  entryMac(hash: string): string {
    return `${this.id}:${this.hmac('tramline-audit-entry', hash)}`;
  }

  checkEntry(hash: string, mac: string): MacCheck {
    return this.compare(mac, this.entryMac(hash));
  }

  /** A signature over a published head's canonical text. */
  sign(text: string): string {
    return `${this.id}:${this.hmac('tramline-audit-head', text)}`;
  }

  checkSignature(text: string, signature: string): MacCheck {
    return this.compare(signature, this.sign(text));
  }

  private compare(given: string, expected: string): MacCheck {
    if (!given.startsWith(`${this.id}:`)) return 'other-key';
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    return a.length === b.length && crypto.timingSafeEqual(a, b) ? 'ok' : 'mismatch';
  }
}

function decode(text: string, where: string): AuditKey {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  try {
    return new AuditKey(bytes);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}

/** TRAMLINE_AUDIT_KEY, else <dataDir>/audit.key (created on first use, mode 0600). */
export function loadAuditKey(o: { auditKey?: string; dataDir: string }): AuditKey {
  if (o.auditKey) return decode(o.auditKey, 'TRAMLINE_AUDIT_KEY');
  const file = path.join(o.dataDir, 'audit.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    try {
      // 'wx': never overwrite a key another process wrote first (its entries would stop verifying).
      fs.writeFileSync(file, `${crypto.randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) log.warn({ file }, 'audit key file is readable by other users; chmod 600 it');
  return decode(fs.readFileSync(file, 'utf8'), file);
}
