// Keyed hashes that let the store find rows by a patient's key (`nhs:9434765919`,
// `group:<council id>`) without keeping the key in clear. The hash is HMAC-SHA256 with the
// index key: TRAMLINE_INDEX_KEY when set, else a key derived from each content key. The same
// derivation serves the FHIR sandbox's name index (server/fhir/blind-index.ts), with its own
// purpose label, so there is one way to get a search key from a content key.
import crypto from 'node:crypto';
import type { ContentKeyRing } from './crypto.js';

/** Version prefix of a stored patient hash; a value without it is a plaintext key from before. */
export const PATIENT_HASH_PREFIX = 'h1:';

const PATIENT_INDEX_PURPOSE = 'tramline message patient index v1';

/**
 * A key for one purpose, derived from a content key: HMAC-SHA256(secret, purpose). The content
 * keys are 32 uniformly random bytes, so one HMAC under a distinct label is a sound key
 * derivation (HKDF-Expand's first block is the same HMAC with a counter byte appended). This
 * exact construction is the one the FHIR name index has always used: its stored hashes stay valid.
 */
export function deriveKey(secret: Buffer, purpose: string): Buffer {
  return crypto.createHmac('sha256', secret).update(purpose).digest();
}

/** Keys derived for `purpose` from every listed content key, current first. */
export function derivedKeys(ring: ContentKeyRing, purpose: string): { id: string; key: Buffer }[] {
  const ids = [ring.currentId, ...[...ring.keys.keys()].filter((id) => id !== ring.currentId)];
  return ids.map((id) => ({ id, key: deriveKey(ring.keys.get(id)!, purpose) }));
}

const patientKeys = new WeakMap<ContentKeyRing, Buffer[]>();

/**
 * The patient index keys, the one that writes first: TRAMLINE_INDEX_KEY when set, else the key
 * derived from the current content key. The keys derived from every listed content key are
 * searched too, so rows hashed before a content-key rotation, or before TRAMLINE_INDEX_KEY was
 * set, stay findable while their content key is listed (but see docs/security.md: queue
 * partitions move).
 */
function patientIndexKeys(ring: ContentKeyRing): Buffer[] {
  let keys = patientKeys.get(ring);
  if (!keys) {
    const derived = derivedKeys(ring, PATIENT_INDEX_PURPOSE).map((k) => k.key);
    keys = ring.indexKey ? [ring.indexKey, ...derived] : derived;
    patientKeys.set(ring, keys);
  }
  return keys;
}

const hashWith = (key: Buffer, patientKey: string): string => PATIENT_HASH_PREFIX + crypto.createHmac('sha256', key).update(patientKey, 'utf8').digest('base64url');

/** What the store writes for a patient key (and what queue partitions are keyed by). */
export function hashPatientKey(ring: ContentKeyRing, patientKey: string): string {
  return hashWith(patientIndexKeys(ring)[0], patientKey);
}

/** Every hash a stored row for this patient key may carry (what a search looks for). */
export function patientKeyHashes(ring: ContentKeyRing, patientKey: string): string[] {
  return patientIndexKeys(ring).map((key) => hashWith(key, patientKey));
}

export const isHashedPatientKey = (value: string): boolean => value.startsWith(PATIENT_HASH_PREFIX);
