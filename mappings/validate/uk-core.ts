// The UK Core rules a shared care record enforces and the FHIR schema cannot express: the
// NHS number (system, Modulus 11, at most one), verification status and ethnic category
// codes, the elements each resource must carry, and the transaction bundle's own wiring
// (every urn:uuid reference resolves; each conditional upsert matches its resource).
import { parseSearchToken, splitSearchValues } from '../../adapters/fhir/search-token.js';
import { remembered } from '../engine/remembered.js';
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
const REQUIRED = new Map<string, string[]>(Object.entries({
  Patient: ['identifier'],
  Encounter: ['status', 'class', 'subject', 'identifier'],
  AllergyIntolerance: ['patient', 'code'],
  Condition: ['subject', 'code'],
  Procedure: ['status', 'subject', 'code'],
  RelatedPerson: ['patient'],
  Organization: ['identifier'],
  Practitioner: ['identifier'],
  Location: ['identifier'],
}));

function arr(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

function codings(concept: unknown): Json[] {
  return arr((concept as Json | undefined)?.coding);
}

const PATIENT_PROFILE = `${UKCORE}UKCore-Patient`;

function hasCoding(concept: unknown, system: string, codeOk: (code: string) => boolean): boolean {
  const list = codings(concept);
  for (let k = 0; k < list.length; k++) if (list[k].system === system && codeOk(String(list[k].code))) return true;
  return false;
}

const isVerificationCode = (code: string): boolean => /^0[1-8]$/.test(code);
const isEthnicCode = (code: string): boolean => ETHNIC_CODES.has(code);

function checkPatient(p: Json, where: string, issues: string[]): void {
  const profiles = arr((p.meta as Json | undefined)?.profile) as unknown as string[];
  if (!profiles.includes(PATIENT_PROFILE)) issues.push(`${where}.meta.profile: must include ${PATIENT_PROFILE}`);
  const ids = arr(p.identifier);
  let nhsNumbers = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    const extensions = arr(id.extension);
    if (id.system === NHS_NUMBER_SYSTEM) {
      if (++nhsNumbers === 2) issues.push(`${where}.identifier: more than one NHS number`);
      if (typeof id.value !== 'string' || !isValidNhsNumber(id.value) || !/^\d{10}$/.test(id.value)) {
        issues.push(`${where}.identifier[${i}].value: NHS number must be 10 digits with a valid Modulus 11 check digit`);
      }
      for (let j = 0; j < extensions.length; j++) {
        const ext = extensions[j];
        if (ext.url === VERIFICATION_EXT && !hasCoding(ext.valueCodeableConcept, VERIFICATION_SYSTEM, isVerificationCode)) {
          issues.push(`${where}.identifier[${i}].extension[${j}]: verification status must be a code 01–08 from ${VERIFICATION_SYSTEM}`);
        }
      }
    } else if (extensions.some((e) => e.url === VERIFICATION_EXT)) {
      issues.push(`${where}.identifier[${i}]: the NHS number verification status belongs on the NHS number only`);
    }
    if (typeof id.system !== 'string' || typeof id.value !== 'string') issues.push(`${where}.identifier[${i}]: needs system and value`);
  }
  const extensions = arr(p.extension);
  for (let j = 0; j < extensions.length; j++) {
    const ext = extensions[j];
    if (ext.url === ETHNIC_EXT && !hasCoding(ext.valueCodeableConcept, ETHNIC_SYSTEM, isEthnicCode)) {
      issues.push(`${where}.extension[${j}]: ethnic category must be a code from ${ETHNIC_SYSTEM}`);
    }
  }
}

/** The urn:uuid `references` not among `fullUrls` (undefined when every one resolves). */
function unresolvedOf(references: readonly string[], fullUrls: ReadonlySet<string>): Set<string> | undefined {
  let out: Set<string> | undefined;
  // has() first: nearly every reference is an entry's fullUrl, and startsWith() is slow.
  for (let i = 0; i < references.length; i++) {
    const ref = references[i];
    if (!fullUrls.has(ref) && ref.startsWith('urn:uuid:')) (out ??= new Set()).add(ref);
  }
  return out;
}

/**
 * Every `reference` string under `value` that is a urn:uuid not among `fullUrls`, with its
 * path. `only`, the unresolved ones among the Reference.reference values the schema walk
 * collected, limits the report to those: a uri that happens to be named `reference` (Expression.reference) is not
 * a Reference, and the schema knows which is which while this walk does not.
 */
function unresolvedReferences(
  value: unknown,
  fullUrls: ReadonlySet<string>,
  only: ReadonlySet<string> | undefined,
  path: (string | number)[],
  out: string[],
): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v !== null && typeof v === 'object') {
        path.push(i);
        unresolvedReferences(v, fullUrls, only, path, out);
        path.pop();
      }
    }
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const k in obj) {
    const v = obj[k];
    if (k === 'reference' && typeof v === 'string') {
      if (only !== undefined ? only.has(v) : v.startsWith('urn:uuid:') && !fullUrls.has(v)) out.push(`${formatPath(path)}.reference: ${v} is not an entry in this bundle`);
    } else if (v !== null && typeof v === 'object') {
      path.push(k);
      unresolvedReferences(v, fullUrls, only, path, out);
      path.pop();
    }
  }
}

function formatPath(path: (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** Characters that mean the query needs decoding (`%`, `+`) or FHIR unescaping (`\`, `,`). */
const ENCODED = /[%+\\,]/;

/**
 * Decode `Type?identifier=system|value` into its parts: undefined when not that form,
 * 'several' when it names more than one identifier (`a,b` is an OR: no definite resource).
 */
function conditionalIdentifier(url: string): { type: string; system: string; value: string } | 'several' | undefined {
  const q = url.indexOf('?identifier=');
  if (q < 0 || url.indexOf('&', q) >= 0) return undefined;
  const raw = url.slice(q + 12);
  if (!ENCODED.test(raw)) {
    // Nothing percent-encoded or escaped: the common case, without decoding.
    const bar = raw.indexOf('|');
    return bar < 0 ? undefined : { type: url.slice(0, q), system: raw.slice(0, bar), value: raw.slice(bar + 1) };
  }
  let decoded = raw;
  if (raw.includes('%') || raw.includes('+')) {
    try {
      decoded = decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  }
  if (splitSearchValues(decoded).length > 1) return 'several';
  const token = parseSearchToken(decoded);
  if (token.system === undefined || token.value === undefined) return undefined;
  return { type: url.slice(0, q), system: token.system, value: token.value };
}

/** The checks one resource's entry gets in a transaction or batch: its conditional upsert. */
function checkRequest(e: Json, r: Json, type: string, i: number, bundleType: unknown, issues: string[]): void {
  const req = e.request as Json | undefined;
  if (!req || typeof req.method !== 'string' || typeof req.url !== 'string') {
    issues.push(`entry[${i}].request: method and url are required in a ${String(bundleType)}`);
    return;
  }
  const cond = conditionalIdentifier(req.url);
  if (!cond) return;
  if (cond === 'several') {
    issues.push(`entry[${i}].request.url: a conditional upsert must name one identifier (a comma means OR; escape it as \\,)`);
    return;
  }
  if (cond.type !== type) issues.push(`entry[${i}].request.url: upserts a ${cond.type} but the resource is a ${type}`);
  const ids = arr(r.identifier);
  let match = false;
  for (let k = 0; k < ids.length && !match; k++) match = ids[k].system === cond.system && ids[k].value === cond.value;
  if (!match) issues.push(`entry[${i}].request.url: the resource has no identifier ${cond.system}|${cond.value}`);
  if (cond.system === NHS_NUMBER_SYSTEM && !isValidNhsNumber(cond.value)) issues.push(`entry[${i}].request.url: NHS number fails the Modulus 11 check`);
}

// startsWith() costs ~150 ns here; a bundle's profiles are the same few constants every time.
const isUkCoreProfile = remembered((profile) => profile.startsWith(UKCORE), 1000);

function declaresUkCoreProfile(r: Json): boolean {
  const profiles = arr((r.meta as Json | undefined)?.profile) as unknown as unknown[];
  for (let k = 0; k < profiles.length; k++) {
    const p = profiles[k];
    if (typeof p === 'string' && isUkCoreProfile(p)) return true;
  }
  return false;
}

// Runs on every mapped message, so plain loops, and location strings built only for issues.
/**
 * UK Core and transaction checks for a whole Bundle; returns every problem found.
 * `references`: every Reference.reference in the bundle's resources, when the FHIR schema
 * check has just collected them; without it, each resource is walked to find them, and any
 * string property named `reference` counts (without the schema, a uri of that name cannot be
 * told from a Reference's).
 */
export function checkUkCoreBundle(bundle: Json, references?: readonly string[]): string[] {
  const issues: string[] = [];
  const entries = arr(bundle.entry);
  const fullUrls = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    if (entries[i] === null || typeof entries[i] !== 'object' || Array.isArray(entries[i])) {
      issues.push(`entry[${i}]: must be an object`);
      continue;
    }
    const url = entries[i].fullUrl;
    if (typeof url !== 'string') continue;
    if (fullUrls.has(url)) issues.push(`entry[${i}].fullUrl: ${url} appears twice`);
    fullUrls.add(url);
  }
  const transaction = bundle.type === 'transaction' || bundle.type === 'batch';
  // Walk the resources, for the unresolved references' paths, only when some do not resolve
  // (or none were collected).
  const unresolved = references === undefined ? undefined : unresolvedOf(references, fullUrls);
  const walkReferences = references === undefined || unresolved !== undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e === null || typeof e !== 'object') continue;
    const r = e.resource as Json | undefined;
    if (!r || typeof r !== 'object') continue;
    const type = String(r.resourceType);
    const required = REQUIRED.get(type);
    if (required) {
      for (const el of required) {
        const v = r[el];
        if (v === undefined || (Array.isArray(v) && v.length === 0)) issues.push(`entry[${i}].resource.${el}: required for ${type}`);
      }
    }
    if (type === 'Patient') checkPatient(r, `entry[${i}].resource`, issues);
    if (!declaresUkCoreProfile(r)) issues.push(`entry[${i}].resource.meta.profile: no UK Core profile declared`);
    if (walkReferences) unresolvedReferences(r, fullUrls, unresolved, ['entry', i, 'resource'], issues);
    if (transaction) checkRequest(e, r, type, i, bundle.type, issues);
  }
  return issues;
}
