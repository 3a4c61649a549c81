// What the viewer never shows. The shared care record may hold resources a clinician must not
// see through this viewer: marked restricted (R) or very restricted (V) in meta.security with
// HL7 v3 Confidentiality — how a record marks sealed safeguarding, adoption, gender
// reassignment and sexual health records — or retracted (entered-in-error). The CLD mapping
// never writes a sensitive record at all (the channel's exclude rules hold those back and the
// mapping's guard fails on a Sensitivity flag), so it has no council code of its own to check.
import type { FhirResource } from 'fhir/r4.js';

const CONFIDENTIALITY_SYSTEMS = new Set(['http://terminology.hl7.org/CodeSystem/v3-Confidentiality', 'http://hl7.org/fhir/v3/Confidentiality']);
const WITHHELD_CODES = new Set(['R', 'V']);

/** Marked restricted or very restricted. */
export function isRestricted(resource: FhirResource): boolean {
  return (resource.meta?.security ?? []).some((c) => c.code !== undefined && WITHHELD_CODES.has(c.code) && c.system !== undefined && CONFIDENTIALITY_SYSTEMS.has(c.system));
}

function codes(concept: unknown): string[] {
  const coding = (concept as { coding?: { code?: string }[] } | undefined)?.coding ?? [];
  return coding.map((c) => c.code ?? '');
}

/** Retracted: status (or a Condition's / AllergyIntolerance's verificationStatus) entered-in-error. */
export function isRetracted(resource: FhirResource): boolean {
  const r = resource as { status?: unknown; verificationStatus?: unknown; lifecycleStatus?: unknown };
  return r.status === 'entered-in-error' || r.lifecycleStatus === 'entered-in-error' || codes(r.verificationStatus).includes('entered-in-error');
}

/** Never shown: restricted or retracted. */
export function isWithheld(resource: FhirResource): boolean {
  return isRestricted(resource) || isRetracted(resource);
}
