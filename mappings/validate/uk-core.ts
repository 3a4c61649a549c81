// The UK Core rules a shared care record enforces and the FHIR schema cannot express: the
// NHS number (system, Modulus 11, at most one), verification status and ethnic category
// codes, the elements each resource must carry, and the transaction bundle's own wiring
// (every urn:uuid reference resolves; each conditional upsert matches its resource).
import { isValidNhsNumber } from '../functions/nhs-number.js';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const UKCORE = 'https://fhir.hl7.org.uk/StructureDefinition/';
const VERIFICATION_EXT = `${UKCORE}Extension-UKCore-NHSNumberVerificationStatus`;
const VERIFICATION_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland';
const ETHNIC_EXT = `${UKCORE}Extension-UKCore-EthnicCategory`;
const ETHNIC_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland';
const ETHNIC_CODES = new Set([...'ABCDEFGHJKLMNPRSZ'].concat('99'));

type Json = Record<string, unknown>;

/** Elements a resource must have here (beyond FHIR R4's own `required`). */
const REQUIRED: Record<string, string[]> = {
  Patient: ['identifier'],
  Encounter: ['status', 'class', 'subject', 'identifier'],
  AllergyIntolerance: ['patient', 'code'],
  Condition: ['subject', 'code'],
  Procedure: ['status', 'subject', 'code'],
  RelatedPerson: ['patient'],
  Organization: ['identifier'],
  Practitioner: ['identifier'],
  Location: ['identifier'],
};

function arr(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

function codings(concept: unknown): Json[] {
  return arr((concept as Json | undefined)?.coding);
}

function checkPatient(p: Json, where: string, issues: string[]): void {
  const profiles = arr((p.meta as Json | undefined)?.profile) as unknown as string[];
  if (!profiles.includes(`${UKCORE}UKCore-Patient`)) issues.push(`${where}.meta.profile: must include ${UKCORE}UKCore-Patient`);
  const nhs = arr(p.identifier).map((id, i) => ({ id, i })).filter(({ id }) => id.system === NHS_NUMBER_SYSTEM);
  if (nhs.length > 1) issues.push(`${where}.identifier: more than one NHS number`);
  for (const { id, i } of nhs) {
    if (typeof id.value !== 'string' || !isValidNhsNumber(id.value) || !/^\d{10}$/.test(id.value)) {
      issues.push(`${where}.identifier[${i}].value: NHS number must be 10 digits with a valid Modulus 11 check digit`);
    }
    arr(id.extension).forEach((ext, j) => {
      if (ext.url !== VERIFICATION_EXT) return;
      const ok = codings(ext.valueCodeableConcept).some((c) => c.system === VERIFICATION_SYSTEM && /^0[1-8]$/.test(String(c.code)));
      if (!ok) issues.push(`${where}.identifier[${i}].extension[${j}]: verification status must be a code 01–08 from ${VERIFICATION_SYSTEM}`);
    });
  }
  arr(p.identifier).forEach((id, i) => {
    if (id.system !== NHS_NUMBER_SYSTEM && arr(id.extension).some((e) => e.url === VERIFICATION_EXT)) {
      issues.push(`${where}.identifier[${i}]: the NHS number verification status belongs on the NHS number only`);
    }
    if (typeof id.system !== 'string' || typeof id.value !== 'string') issues.push(`${where}.identifier[${i}]: needs system and value`);
  });
  arr(p.extension).forEach((ext, j) => {
    if (ext.url !== ETHNIC_EXT) return;
    const ok = codings(ext.valueCodeableConcept).some((c) => c.system === ETHNIC_SYSTEM && ETHNIC_CODES.has(String(c.code)));
    if (!ok) issues.push(`${where}.extension[${j}]: ethnic category must be a code from ${ETHNIC_SYSTEM}`);
  });
}

function collectReferences(value: unknown, path: string, out: { path: string; ref: string }[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => collectReferences(v, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push({ path: `${path}.reference`, ref: v });
      else collectReferences(v, `${path}.${k}`, out);
    }
  }
}

/** Decode `Type?identifier=system|value` into its parts (undefined when not that form). */
function conditionalIdentifier(url: string): { type: string; system: string; value: string } | undefined {
  const m = /^([A-Za-z]+)\?identifier=([^&]*)$/.exec(url);
  if (!m) return undefined;
  const decoded = decodeURIComponent(m[2]);
  const bar = decoded.lastIndexOf('|');
  if (bar < 0) return undefined;
  return { type: m[1], system: decoded.slice(0, bar), value: decoded.slice(bar + 1) };
}

/** UK Core and transaction checks for a whole Bundle; returns every problem found. */
export function checkUkCoreBundle(bundle: Json): string[] {
  const issues: string[] = [];
  const entries = arr(bundle.entry);
  const fullUrls = new Set<string>();
  entries.forEach((e, i) => {
    if (typeof e.fullUrl === 'string') {
      if (fullUrls.has(e.fullUrl)) issues.push(`entry[${i}].fullUrl: ${e.fullUrl} appears twice`);
      fullUrls.add(e.fullUrl);
    }
  });
  entries.forEach((e, i) => {
    const where = `entry[${i}].resource`;
    const r = e.resource as Json | undefined;
    if (!r) return;
    const type = String(r.resourceType);
    for (const el of REQUIRED[type] ?? []) {
      const v = r[el];
      if (v === undefined || (Array.isArray(v) && v.length === 0)) issues.push(`${where}.${el}: required for ${type}`);
    }
    if (type === 'Patient') checkPatient(r, where, issues);
    const profiles = arr((r.meta as Json | undefined)?.profile) as unknown as string[];
    if (!profiles.some((p) => p.startsWith(UKCORE))) issues.push(`${where}.meta.profile: no UK Core profile declared`);
    const refs: { path: string; ref: string }[] = [];
    collectReferences(r, where, refs);
    for (const { path, ref } of refs) {
      if (ref.startsWith('urn:uuid:') && !fullUrls.has(ref)) issues.push(`${path}: ${ref} is not an entry in this bundle`);
    }
    if (bundle.type === 'transaction' || bundle.type === 'batch') {
      const req = e.request as Json | undefined;
      if (!req || typeof req.method !== 'string' || typeof req.url !== 'string') {
        issues.push(`entry[${i}].request: method and url are required in a ${String(bundle.type)}`);
        return;
      }
      const cond = conditionalIdentifier(req.url);
      if (cond) {
        if (cond.type !== type) issues.push(`entry[${i}].request.url: upserts a ${cond.type} but the resource is a ${type}`);
        const match = arr(r.identifier).some((id) => id.system === cond.system && id.value === cond.value);
        if (!match) issues.push(`entry[${i}].request.url: the resource has no identifier ${cond.system}|${cond.value}`);
        if (cond.system === NHS_NUMBER_SYSTEM && !isValidNhsNumber(cond.value)) issues.push(`entry[${i}].request.url: NHS number fails the Modulus 11 check`);
      }
    }
  });
  return issues;
}
