// Why a clinician opens a person's record: a legitimate relationship (direct care) or
// break-glass with a reason. Stated before the record opens, kept in the session for that
// person, and written to every view's audit entry (purpose of use; break-glass reason).
import type { StatedPurpose } from './session-state.js';

export interface PurposeChoice {
  value: string;
  /** What the clinician reads on the radio. */
  text: string;
  hint?: string;
  /** Purpose of use as recorded in the audit trail (AuditEvent purposeOfEvent). */
  purpose: string;
  breakGlass?: true;
}

export const PURPOSES: readonly PurposeChoice[] = [
  { value: 'direct-care', text: 'I am involved in this person\u2019s direct care', purpose: 'direct care' },
  { value: 'care-coordination', text: 'I am arranging this person\u2019s care, transfer or discharge', purpose: 'care coordination' },
  {
    value: 'break-glass',
    text: 'Emergency access (break glass)',
    hint: 'Only if you have no care relationship with this person and need their record now. Every emergency access is reviewed.',
    purpose: 'emergency access',
    breakGlass: true,
  },
];

/** The longest break-glass reason kept (it goes into the audit trail). */
export const MAX_REASON = 1000;

export type PurposeForm = { ok: true; stated: StatedPurpose } | { ok: false; field: 'purpose' | 'reason'; error: string; choice?: string; reason: string };

/** The purpose form's answer, or what is wrong with it. */
export function parsePurpose(body: Record<string, unknown>): PurposeForm {
  const choice = PURPOSES.find((p) => p.value === body.purpose);
  const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
  if (!choice) return { ok: false, field: 'purpose', error: 'Select why you need to see this record', reason };
  if (!choice.breakGlass) return { ok: true, stated: { choice: choice.value, purpose: choice.purpose } };
  if (!reason) return { ok: false, field: 'reason', error: 'Enter why you need emergency access to this record', choice: choice.value, reason };
  if (reason.length > MAX_REASON) return { ok: false, field: 'reason', error: `Reason must be ${MAX_REASON} characters or fewer`, choice: choice.value, reason };
  return { ok: true, stated: { choice: choice.value, purpose: choice.purpose, breakGlass: reason } };
}
