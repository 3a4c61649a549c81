// Whom a resource is about: the Patient ids it names as its subject, per resource type, so a
// read of any part of a person's record (an EpisodeOfCare, an Encounter, a Flag) is audited as
// a view of that person — not only reads that return the Patient itself.
import { findReferences, literalTarget } from './references.js';

/** Element paths (as findReferences names them) that say whom a resource is about, where the type differs from the default. */
const PERSON_PATHS: Record<string, readonly string[]> = {
  Appointment: ['participant.actor'],
  AppointmentResponse: ['actor'],
  Group: ['member.entity'],
  Linkage: ['item.resource'],
  Person: ['link.target'],
};
/** Most types name their person in one of these (FHIR's `patient` search parameter paths). */
const DEFAULT_PATHS: readonly string[] = ['subject', 'patient', 'beneficiary', 'individual', 'who'];

/** Patient ids a resource is about: its own id for a Patient, else the Patient references on its subject paths. */
export function patientIdsOf(resource: unknown): string[] {
  const r = resource as { resourceType?: unknown; id?: unknown } | undefined;
  if (!r || typeof r.resourceType !== 'string') return [];
  if (r.resourceType === 'Patient') return typeof r.id === 'string' ? [r.id] : [];
  const paths = PERSON_PATHS[r.resourceType] ?? DEFAULT_PATHS;
  const ids = new Set<string>();
  for (const ref of findReferences(r)) {
    if (!paths.includes(ref.path)) continue;
    const target = literalTarget(ref.reference);
    if (target?.startsWith('Patient/')) ids.add(target.slice('Patient/'.length));
  }
  return [...ids];
}
