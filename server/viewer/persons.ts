// One person may be several Patient resources in the shared care record: each source owns its
// own (the CLD mapping keys it on the council's person id, the ADT mapping on the trust's MRN
// or a facility-scoped NHS number), and each carries the NHS number, so the same NHS number is
// on (at least) two Patients. The viewer shows people, not Patients: Patients are
// grouped by NHS number; a Patient without one is a person of its own.
import type { FhirResource, Patient } from 'fhir/r4.js';
import type { FhirReader, ReadBudget } from './fhir-reader.js';
import { NHS_NUMBER_SYSTEM, addressLine, mainAddress, nameText, nhsNumberOf, normalisePostcode, patientNameText } from './fhir-values.js';
import type { PersonSummary } from './model.js';
import type { PersonIds } from './person-id.js';
import { isRestricted } from './withheld.js';

/** Identifiers per search; a find or record involves a handful of people at most. */
const CHUNK = 50;

export interface Person {
  /** NHS number, or `Patient/<id>` for a Patient without one. */
  key: string;
  nhsNumber?: string;
  /** Newest named Patient first: the banner's demographics come from it. */
  patients: Patient[];
}

export function patientsIn(resources: readonly FhirResource[]): Patient[] {
  return resources.filter((r): r is Patient => r.resourceType === 'Patient' && !!r.id);
}

/**
 * Group Patients into people. A Patient marked inactive (an ADT merge's replaced record) is left
 * out: its data lives on in the surviving Patient. A person any of whose Patients is restricted
 * is left out entirely — showing the rest would reveal that a restricted record exists.
 */
export function groupPeople(patients: readonly Patient[]): Person[] {
  const people = new Map<string, Person>();
  const seen = new Set<string>();
  for (const patient of patients) {
    if (seen.has(patient.id!) || patient.active === false) continue;
    seen.add(patient.id!);
    const nhsNumber = nhsNumberOf(patient);
    const key = nhsNumber ?? `Patient/${patient.id}`;
    const person = people.get(key) ?? { key, ...(nhsNumber ? { nhsNumber } : {}), patients: [] };
    person.patients.push(patient);
    people.set(key, person);
  }
  return [...people.values()].filter((p) => !p.patients.some(isRestricted)).map((p) => ({ ...p, patients: [...p.patients].sort(byPreference) }));
}

/** Named Patients first (the hospital's PAS record is traced against PDS), then the most recently updated. */
function byPreference(a: Patient, b: Patient): number {
  const named = Number(!!nameText(b.name)) - Number(!!nameText(a.name));
  if (named) return named;
  return (b.meta?.lastUpdated ?? '').localeCompare(a.meta?.lastUpdated ?? '');
}

/** Every Patient carrying one of these NHS numbers (one search per CHUNK numbers: comma is OR). */
export async function patientsWithNhsNumbers(reader: FhirReader, nhsNumbers: readonly string[], budget: ReadBudget): Promise<Patient[]> {
  const found: Patient[] = [];
  const unique = [...new Set(nhsNumbers)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const identifier = unique
      .slice(i, i + CHUNK)
      .map((n) => `${NHS_NUMBER_SYSTEM}|${n}`)
      .join(',');
    found.push(...patientsIn((await reader.search('Patient', { identifier, _count: '1000' }, budget)).matches));
  }
  return found;
}

/** The first of the person's Patients that has `pick`. */
function first<T>(person: Person, pick: (p: Patient) => T | undefined): T | undefined {
  for (const patient of person.patients) {
    const value = pick(patient);
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

export const NAME_NOT_RECORDED = 'Name not recorded';

export function personName(person: Person): string {
  return first(person, (p) => patientNameText(p.name)) ?? NAME_NOT_RECORDED;
}

export function personPostcode(person: Person): string | undefined {
  return first(person, (p) => {
    const postcode = mainAddress(p.address)?.postalCode;
    return postcode ? normalisePostcode(postcode) : undefined;
  });
}

export function summarise(person: Person, ids: PersonIds): PersonSummary {
  const address = first(person, (p) => addressLine(mainAddress(p.address)));
  const postcode = personPostcode(person);
  const birthDate = first(person, (p) => p.birthDate);
  const gender = first(person, (p) => p.gender);
  const deceased = person.patients.some((p) => !!p.deceasedDateTime || p.deceasedBoolean === true);
  return {
    id: ids.seal(person.patients.map((p) => p.id!)),
    name: personName(person),
    ...(person.nhsNumber ? { nhsNumber: person.nhsNumber } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(gender ? { gender } : {}),
    ...(address ? { address } : {}),
    ...(postcode ? { postcode } : {}),
    deceased,
  };
}
