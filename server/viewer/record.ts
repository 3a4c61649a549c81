// The viewer's data: ViewerData (model.ts) as a FHIR client of the shared care record.
//
//   const data = await createViewerData({ personIdKey });      // the engine's sandbox, or LPRES
//   const people = await data.find({ kind: 'nhs-number', nhsNumber: '9434765919' });
//   const record = await data.record(people[0].id);
//
// Where it reads (fhir-reader.ts): `url`, else TRAMLINE_LPRES_URL, with `auth` (the `fhir`
// destination's auth block); else the engine's own /fhir sandbox with the engine's token, once
// the engine listens (before that: RecordUnavailableError). The viewer audits views itself:
// nothing here writes the audit trail, and sandbox reads are not audited per request.
import type { FhirResource } from 'fhir/r4.js';
import { assembleRecord } from './assemble.js';
import { FhirReader, type FhirReaderOptions, type ReadBudget } from './fhir-reader.js';
import { keyOf, referenceKey } from './fhir-values.js';
import { findPeople } from './find.js';
import type { FindQuery, PersonRecord, PersonSummary, ViewerData } from './model.js';
import { PersonIds } from './person-id.js';
import { groupPeople, patientsIn, patientsWithNhsNumbers, type Person } from './persons.js';
import { isRestricted, isWithheld } from './withheld.js';

export { DEFAULT_BUDGET_MS, DEFAULT_REQUEST_TIMEOUT_MS, type FhirReaderOptions } from './fhir-reader.js';
export { PersonIds } from './person-id.js';

export interface ViewerDataOptions extends FhirReaderOptions {
  /**
   * Key (32+ bytes) sealing Patient ids into the opaque person ids of record URLs
   * (person-id.ts). Give a stable one (e.g. derived from the store's content key) so links
   * survive a restart; default: random per process.
   */
  personIdKey?: Uint8Array;
  /** Today, for ages and whether a service is current (default: the clock). */
  now?: () => Date;
}

/** Everything about a person the record shows, in one search (docs/fhir.md, "A person's record for the viewer"). */
const REVINCLUDES = [
  'EpisodeOfCare:patient',
  'ServiceRequest:subject',
  'Encounter:subject',
  'Condition:subject',
  'RelatedPerson:patient',
  'CareTeam:patient',
  'Flag:patient',
];
/** Types the record's resources point at and shows: fetched by id after the person's search. */
const REFERENCED_TYPES = new Set(['Organization', 'Practitioner', 'Location', 'Encounter']);
/** Reference rounds: a bed's ward, an encounter's organisation … two levels is all the record uses. */
const REFERENCE_ROUNDS = 2;
const IDS_PER_SEARCH = 50;

/** Every `reference` string anywhere in a resource. */
function referencesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else referencesIn(v, out);
    }
  }
  return out;
}

async function byIds(reader: FhirReader, type: string, ids: string[], budget: ReadBudget): Promise<FhirResource[]> {
  const found: FhirResource[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_SEARCH) {
    found.push(...(await reader.search(type, { _id: ids.slice(i, i + IDS_PER_SEARCH).join(','), _count: '1000' }, budget)).matches);
  }
  return found;
}

/** Fetch what the resources reference (organisations, practitioners, locations) and is not there yet. */
async function withReferenced(reader: FhirReader, resources: FhirResource[], budget: ReadBudget): Promise<FhirResource[]> {
  const all = new Map(resources.map((r) => [keyOf(r), r]));
  for (let round = 0; round < REFERENCE_ROUNDS; round++) {
    const missing = new Map<string, Set<string>>();
    for (const resource of all.values()) {
      for (const ref of referencesIn(resource)) {
        const key = referenceKey({ reference: ref });
        if (!key || all.has(key)) continue;
        const [type, id] = key.split('/');
        if (!REFERENCED_TYPES.has(type) || !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) continue;
        missing.set(type, (missing.get(type) ?? new Set()).add(id));
      }
    }
    if (!missing.size) break;
    const fetched = await Promise.all([...missing].map(([type, ids]) => byIds(reader, type, [...ids], budget)));
    for (const r of fetched.flat()) all.set(keyOf(r), r);
  }
  return [...all.values()];
}

/** The person behind an id: their Patients now (new Patients with the same NHS number included). */
async function personOf(reader: FhirReader, ids: PersonIds, personId: string, budget: ReadBudget): Promise<Person | undefined> {
  const patientIds = ids.open(personId);
  if (!patientIds) return undefined;
  const named = patientsIn((await reader.search('Patient', { _id: patientIds.join(','), _count: '1000' }, budget)).matches);
  const nhsNumbers = [...new Set(groupPeople(named).flatMap((p) => (p.nhsNumber ? [p.nhsNumber] : [])))];
  const patients = [...named, ...(nhsNumbers.length ? await patientsWithNhsNumbers(reader, nhsNumbers, budget) : [])];
  // Any restricted Patient of theirs: the person is not found (not a partial record).
  if (patients.some(isRestricted)) return undefined;
  const people = groupPeople(patients);
  // Patients that no longer share one NHS number (a number corrected since the id was made)
  // are not merged into one record: the page says not found and a new search gives fresh ids.
  return people.length === 1 ? people[0] : undefined;
}

async function readRecord(reader: FhirReader, ids: PersonIds, personId: string, now: Date): Promise<PersonRecord | undefined> {
  const budget = reader.budget();
  const person = await personOf(reader, ids, personId, budget);
  if (!person) return undefined;
  const { included } = await reader.search(
    'Patient',
    { _id: person.patients.map((p) => p.id!).join(','), _revinclude: REVINCLUDES, _count: '1000' },
    budget,
  );
  // The Patients go in too, for what they reference (GP practice, managing organisation).
  const about = [...person.patients, ...included.filter((r) => r.resourceType !== 'Patient')];
  const resources = (await withReferenced(reader, about, budget)).filter((r) => r.resourceType !== 'Patient' && !isWithheld(r));
  return assembleRecord(person, resources, now);
}

/**
 * ViewerData reading the shared care record. Throws ConfigError at once for a missing secret
 * or unreadable key named by `auth`; find and record throw RecordUnavailableError (cannot
 * reach, timeout, over budget, 5xx), RecordRequestError (other 4xx) or InvalidQueryError.
 */
export async function createViewerData(options: ViewerDataOptions = {}): Promise<ViewerData> {
  const reader = await FhirReader.open(options);
  const ids = new PersonIds(options.personIdKey);
  const now = options.now ?? (() => new Date());
  return {
    find: (query: FindQuery): Promise<PersonSummary[]> => findPeople(reader, ids, query),
    record: (personId: string): Promise<PersonRecord | undefined> => readRecord(reader, ids, personId, now()),
  };
}
