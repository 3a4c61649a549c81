// The person id in the viewer's record URLs. URLs end up in access logs and browser history,
// so the id must not carry an NHS number or a name, and a FHIR server's logical ids may (some
// servers use the NHS number as the Patient id). The id is therefore the person's Patient ids
// sealed with AES-256-GCM under a key the viewer holds: opaque, tamper-evident, and readable
// only by this viewer. The IV is derived from the content (HMAC), so the same person always
// gets the same id under one key — links stay stable, and equality is all the id reveals.
import crypto from 'node:crypto';

/** FHIR R4 id: what a Patient id may be; anything else is refused before it reaches a query. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const AAD = Buffer.from('tramline-viewer-person-id/1');

export class PersonIds {
  private readonly encryptionKey: Buffer;
  private readonly ivKey: Buffer;

  /** `key`: 32 bytes or more (default: random for this process, so ids expire with it). */
  constructor(key: Uint8Array = crypto.randomBytes(32)) {
    if (key.length < 32) throw new RangeError('viewer person id key must be at least 32 bytes');
    // Separate keys for encryption and IV derivation, from the one secret.
    this.encryptionKey = Buffer.from(crypto.hkdfSync('sha256', key, Buffer.alloc(0), 'viewer person id: encryption', 32));
    this.ivKey = Buffer.from(crypto.hkdfSync('sha256', key, Buffer.alloc(0), 'viewer person id: iv', 32));
  }

  /** An opaque id for these Patient logical ids (order does not matter). */
  seal(patientIds: readonly string[]): string {
    const plain = Buffer.from([...new Set(patientIds)].sort().join(' '));
    const iv = crypto.createHmac('sha256', this.ivKey).update(plain).digest().subarray(0, 12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(AAD);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The Patient ids in `id`, or undefined when it was not made by this key or is malformed. */
  open(id: string): string[] | undefined {
    if (!/^[A-Za-z0-9_-]{40,4096}$/.test(id)) return undefined;
    const raw = Buffer.from(id, 'base64url');
    if (raw.length < 12 + 16 + 1) return undefined;
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.encryptionKey, raw.subarray(0, 12));
      decipher.setAAD(AAD);
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString();
      const ids = plain.split(' ');
      return ids.every((i) => FHIR_ID.test(i)) ? ids : undefined;
    } catch {
      return undefined;
    }
  }
}
