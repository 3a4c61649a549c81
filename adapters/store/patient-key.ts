// The two columns a patient's key becomes in `messages`: a keyed hash to search by
// (index-key.ts) and the key sealed with the content key, so `get` and `list` can still show it.
import { open, seal, type ContentKeyRing } from './crypto.js';
import { hashPatientKey, isHashedPatientKey } from './index-key.js';

/** Binds the sealed key to its message: a sealed value copied to another row does not open. */
const aadOf = (messageId: string) => `message:${messageId}:patient-key`;

export interface PatientKeyColumns {
  patient_key: string | null;
  patient_key_sealed: string | null;
}

export function patientKeyColumns(ring: ContentKeyRing, messageId: string, patientKey: string | undefined): PatientKeyColumns {
  if (patientKey === undefined) return { patient_key: null, patient_key_sealed: null };
  const sealed = seal(ring, Buffer.from(patientKey, 'utf8'), aadOf(messageId));
  return {
    patient_key: hashPatientKey(ring, patientKey),
    patient_key_sealed: `${sealed.keyId}:${Buffer.concat([sealed.iv, sealed.tag, sealed.ciphertext]).toString('base64url')}`,
  };
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The patient's key in clear, or undefined when the message has none. */
export function patientKeyOf(ring: ContentKeyRing, messageId: string, columns: PatientKeyColumns): string | undefined {
  const stored = columns.patient_key_sealed;
  if (stored === null) {
    // A row from before the index that the start-up rehash has not reached yet holds it in clear.
    return columns.patient_key !== null && !isHashedPatientKey(columns.patient_key) ? columns.patient_key : undefined;
  }
  const colon = stored.indexOf(':');
  const bytes = Buffer.from(stored.slice(colon + 1), 'base64url');
  const sealed = { keyId: stored.slice(0, colon), iv: bytes.subarray(0, IV_BYTES), tag: bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES), ciphertext: bytes.subarray(IV_BYTES + TAG_BYTES) };
  return open(ring, sealed, aadOf(messageId)).toString('utf8');
}
