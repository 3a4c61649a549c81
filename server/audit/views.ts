// Record views: what the clinician viewer calls for every look at a person's record (allowed
// or refused), so `GET /api/audit?patient=…` can produce that person's access history.
import type { Principal } from '../auth/roles.js';
import type { AuditEntryInput, AuditOutcome } from './types.js';

export interface RecordView {
  principal: Principal;
  /** NHS number of the person whose record was opened. */
  patient: string;
  /** Purpose of use, e.g. `direct care`. */
  purpose: string;
  /** Break-glass rationale when access was by override (flagged for review). */
  breakGlass?: string;
  sourceIp?: string;
  /** Which part of the record, e.g. `summary`, `care-package`. */
  section?: string;
  outcome?: AuditOutcome;
  /** Why access was refused, when it was. */
  reason?: string;
}

export function viewEntry(v: RecordView): AuditEntryInput {
  return {
    category: 'view',
    action: 'viewer.read',
    outcome: v.outcome ?? 'success',
    actor: { id: v.principal.id, kind: v.principal.kind, role: v.principal.roles.join(',') || undefined, organisation: v.principal.organisation },
    sourceIp: v.sourceIp,
    patient: v.patient,
    purpose: v.purpose,
    breakGlass: v.breakGlass,
    detail: {
      ...(v.section ? { section: v.section } : {}),
      ...(v.breakGlass ? { reviewRequired: true } : {}),
      ...(v.reason ? { reason: v.reason } : {}),
    },
  };
}

/** Append a record view to the trail; resolves once it is durable. */
export async function recordView(audit: { append(entry: AuditEntryInput): Promise<unknown> }, v: RecordView): Promise<void> {
  await audit.append(viewEntry(v));
}
