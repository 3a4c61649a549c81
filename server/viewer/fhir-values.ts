// Small readers of FHIR R4 values the viewer shows: names, addresses, codes, references and
// where an item came from. Kept apart from find.ts and assemble.ts so both read alike.
import type { Address, CodeableConcept, ContactPoint, FhirResource, HumanName, Organization, Patient, Practitioner, Reference } from 'fhir/r4.js';
import type { Provenance } from './model.js';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';

/** Resources by `Type/id`, as references point at them. */
export type ResourceIndex = Map<string, FhirResource>;

export function keyOf(resource: FhirResource): string {
  return `${resource.resourceType}/${resource.id ?? ''}`;
}

/** `Type/id` of a reference, relative or absolute (`https://…/fhir/Type/id`, `…/_history/n` dropped). */
export function referenceKey(reference: Reference | undefined): string | undefined {
  const ref = reference?.reference;
  if (!ref || ref.startsWith('#') || ref.includes('?')) return undefined;
  const parts = ref.replace(/\/_history\/[^/]+$/, '').split('/');
  if (parts.length < 2) return undefined;
  return `${parts[parts.length - 2]}/${parts[parts.length - 1]}`;
}

export function resolve<T extends FhirResource>(index: ResourceIndex, reference: Reference | undefined, type: T['resourceType']): T | undefined {
  const key = referenceKey(reference);
  const found = key ? index.get(key) : undefined;
  return found?.resourceType === type ? (found as T) : undefined;
}

export function nhsNumberOf(patient: Patient): string | undefined {
  return patient.identifier?.find((i) => i.system === NHS_NUMBER_SYSTEM && i.value)?.value;
}

/** "Anna Marie Ellis": the official (else usual, else first) name, as text or given + family. */
export function nameText(names: HumanName[] | undefined): string | undefined {
  const name = preferredName(names);
  if (!name) return undefined;
  if (name.text) return name.text;
  const parts = [...(name.prefix ?? []), ...(name.given ?? []), ...(name.family ? [name.family] : [])].filter(Boolean);
  return parts.length ? parts.join(' ') : undefined;
}

function preferredName(names: HumanName[] | undefined): HumanName | undefined {
  if (!names?.length) return undefined;
  return names.find((n) => n.use === 'official') ?? names.find((n) => n.use === 'usual') ?? names.find((n) => n.use !== 'old') ?? names[0];
}

/** "ANNA MARIE" → "Anna Marie" (hyphens and apostrophes start a capital); mixed case is left as written. */
function titleCase(text: string): string {
  if (text !== text.toUpperCase()) return text;
  return text.toLowerCase().replace(/(^|[\s\-'])(\p{L})/gu, (_, sep: string, letter: string) => sep + letter.toUpperCase());
}

/**
 * A patient's name as NHS patient banners show it: family name in capitals, given names, title
 * in brackets — "ELLIS, Anna Marie (Mrs)". Text only (no parts): as written.
 */
export function patientNameText(names: HumanName[] | undefined): string | undefined {
  const name = preferredName(names);
  if (!name) return undefined;
  const given = (name.given ?? []).filter(Boolean).map(titleCase).join(' ');
  const prefix = (name.prefix ?? []).filter(Boolean).map(titleCase).join(' ');
  if (!name.family && !given) return name.text;
  const main = [name.family?.toUpperCase(), given].filter(Boolean).join(', ');
  return prefix ? `${main} (${prefix})` : main;
}

/** Home (else first current) address. */
export function mainAddress(addresses: Address[] | undefined): Address | undefined {
  const current = (addresses ?? []).filter((a) => !a.period?.end);
  return current.find((a) => a.use === 'home') ?? current[0];
}

/** One line, e.g. "12 Orchard Road, Flat 3, Leeds, LS6 2AB". */
export function addressLine(address: Address | undefined): string | undefined {
  if (!address) return undefined;
  if (address.text) return address.text;
  const parts = [...(address.line ?? []), address.city, address.postalCode ? normalisePostcode(address.postalCode) : undefined].filter((p): p is string => !!p);
  return parts.length ? parts.join(', ') : undefined;
}

/** "ls6 2ab" / "LS62AB" → "LS6 2AB" (the inward code is always the last three characters). */
export function normalisePostcode(postcode: string): string {
  const compact = postcode.replace(/\s+/g, '').toUpperCase();
  return compact.length > 3 ? `${compact.slice(0, -3)} ${compact.slice(-3)}` : compact;
}

export function conceptText(concept: CodeableConcept | undefined): string | undefined {
  if (!concept) return undefined;
  return concept.text ?? concept.coding?.find((c) => c.display)?.display ?? concept.coding?.find((c) => c.code)?.code;
}

export function phoneOf(telecom: ContactPoint[] | undefined): string | undefined {
  return telecom?.find((t) => t.system === 'phone' && t.value && !t.period?.end)?.value;
}

export function emailOf(telecom: ContactPoint[] | undefined): string | undefined {
  return telecom?.find((t) => t.system === 'email' && t.value)?.value;
}

export function organisationName(org: Organization | undefined): string | undefined {
  if (!org) return undefined;
  return org.name ?? org.identifier?.find((i) => i.system === ODS_SYSTEM)?.value;
}

export function practitionerName(practitioner: Practitioner | undefined): string | undefined {
  return nameText(practitioner?.name);
}

/** Where an identifier system says a resource came from, in words a clinician reads. */
export function systemLabel(system: string | undefined): string | undefined {
  if (!system) return undefined;
  if (/\/Id\/(cld-|person-id$|allocated-care-team$|primary-support-reason$|carer-relationship$|worker-id$)/.test(system)) return 'Adult social care record (CLD)';
  const local = /^urn:tramline:id:([^:]+):/.exec(system);
  if (local) return `Hospital patient administration (${local[1]})`;
  return system;
}

/** Provenance of `resource`: its organisation (`org`), sending system, last update. */
export function provenanceOf(resource: FhirResource, org: Organization | undefined): Provenance {
  const identifiers = (resource as { identifier?: { system?: string }[] }).identifier ?? [];
  const system = resource.meta?.source ?? systemLabel(identifiers.find((i) => i.system)?.system);
  return {
    ...(organisationName(org) ? { organisation: organisationName(org) } : {}),
    ...(system ? { system } : {}),
    ...(resource.meta?.lastUpdated ? { lastUpdated: resource.meta.lastUpdated } : {}),
  };
}
