// Finding a person: by NHS number, or by family name and date of birth (narrowed by given
// name, postcode and gender). Results are people, not Patients (persons.ts).
import type { Patient } from 'fhir/r4.js';
import { isValidNhsNumber, normaliseNhsNumber } from '../../mappings/functions/nhs-number.js';
import type { FhirReader } from './fhir-reader.js';
import { NHS_NUMBER_SYSTEM, normalisePostcode } from './fhir-values.js';
import { InvalidQueryError, type FindByDemographics, type FindQuery, type PersonSummary } from './model.js';
import type { PersonIds } from './person-id.js';
import { groupPeople, patientsIn, patientsWithNhsNumbers, summarise, type Person } from './persons.js';

/** More matches than this and the search is too broad to show; the page asks for more detail. */
export const MAX_MATCHES = 50;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export async function findPeople(reader: FhirReader, ids: PersonIds, query: FindQuery): Promise<PersonSummary[]> {
  const budget = reader.budget();
  let patients: Patient[];
  if (query.kind === 'nhs-number') {
    const nhsNumber = normaliseNhsNumber(query.nhsNumber ?? '');
    if (!nhsNumber || !isValidNhsNumber(nhsNumber)) throw new InvalidQueryError('NHS number must be 10 digits with a valid check digit');
    patients = await patientsWithNhsNumbers(reader, [nhsNumber], budget);
  } else {
    const matches = patientsIn((await reader.search('Patient', demographicParams(query), budget)).matches);
    // The same people's other Patients (a CLD Patient has no name, so only the NHS number finds it).
    const nhsNumbers = matches.flatMap((p) => p.identifier?.filter((i) => i.system === NHS_NUMBER_SYSTEM && i.value).map((i) => i.value!) ?? []);
    patients = [...matches, ...(nhsNumbers.length ? await patientsWithNhsNumbers(reader, nhsNumbers, budget) : [])];
  }
  return groupPeople(patients)
    .filter((person) => query.kind === 'nhs-number' || fits(person, query))
    .slice(0, MAX_MATCHES)
    .map((person) => summarise(person, ids))
    .sort((a, b) => a.name.localeCompare(b.name) || (a.birthDate ?? '').localeCompare(b.birthDate ?? ''));
}

/**
 * Name and birth date go to the server (FHIR string search: case-insensitive starts-with).
 * Postcode and gender do not: the sandbox indexes neither (it refuses unknown parameters
 * rather than ignore them), and a server that did would miss a person whose other Patient
 * holds the postcode — so they narrow the people found here (fits).
 */
function demographicParams(query: FindByDemographics): Record<string, string> {
  const family = query.family?.trim();
  if (!family) throw new InvalidQueryError('Enter a family name');
  if (!query.birthDate || !DATE.test(query.birthDate) || Number.isNaN(Date.parse(query.birthDate))) throw new InvalidQueryError('Date of birth must be a date (YYYY-MM-DD)');
  const given = query.given?.trim();
  return { family, birthdate: query.birthDate, ...(given ? { given } : {}), _count: String(MAX_MATCHES * 4) };
}

/** Any of the person's Patients may hold the postcode; a gender not recorded does not rule them out. */
function fits(person: Person, query: FindByDemographics): boolean {
  const genders = person.patients.map((p) => p.gender).filter(Boolean);
  if (query.gender && genders.length && !genders.includes(query.gender)) return false;
  if (query.postcode?.trim()) {
    const wanted = normalisePostcode(query.postcode);
    const theirs = person.patients.flatMap((p) => (p.address ?? []).map((a) => (a.postalCode ? normalisePostcode(a.postalCode) : undefined)));
    if (!theirs.includes(wanted)) return false;
  }
  return true;
}
