// Patient identifiers from PID-3 (CX data type), with the NHS number recognised however the
// sender flags it: CX.5 `NH`, `NH{status:01}`, or only CX.4 `NHS`.
import type { Hl7Message } from '../../core/hl7/message.js';
import { fieldAt } from '../../core/hl7/model.js';
import { lazySegmentViews } from '../../core/hl7/views.js';

export interface PatientIdentifier {
  value: string;
  /** CX.5 identifier type, e.g. `NH` (NHS number), `MR` (hospital number). */
  type?: string;
  /** CX.4 assigning authority, e.g. `NHS`, `RCB`. */
  authority?: string;
}

export function isNhsNumberIdentifier(id: PatientIdentifier): boolean {
  return (id.type ?? '').toUpperCase().startsWith('NH') || (id.authority ?? '').toUpperCase() === 'NHS';
}

export function patientIdentifiers(msg: Hl7Message): PatientIdentifier[] {
  // Only PID-3 is parsed: every inbound message passes here (the ordering key, the inbox).
  const pid = lazySegmentViews(msg, 'PID')?.[0];
  const pid3 = (pid && fieldAt(pid, 3, msg.separators)) ?? [];
  return pid3
    .map((rep) => ({ value: (rep[0]?.[0] ?? '').trim(), authority: rep[3]?.[0] || undefined, type: rep[4]?.[0] || undefined }))
    .filter((id) => id.value !== '');
}

export function nhsNumberOf(ids: PatientIdentifier[]): string | undefined {
  return ids.find(isNhsNumberIdentifier)?.value.replace(/\s+/g, '');
}
