// The sandbox's searches start from the value searched for: every query on fhir_index is planned
// on its lookup index (kind, value, resource_type), never as a walk through every index row of a
// resource type. Two did walk (an EXISTS correlated on each resource; SELECT DISTINCT for
// _revinclude), which made a person's record take ~0.5 s with 10,000 people in the sandbox
// (docs/performance.md, viewer-record). Checked on SQLite's query plans, which do not depend on
// how much data there is (no ANALYZE statistics), so a handful of resources shows them.
import crypto from 'node:crypto';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import type { Bundle, FhirResource } from 'fhir/r4.js';
import { Kysely, SqliteDialect } from 'kysely';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import { migrateToLatest } from '../../adapters/store/migrations/index.js';
import { FhirStore } from '../../server/fhir/store.js';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const sqlite = new Database(':memory:');
const queries: { sql: string; parameters: readonly unknown[] }[] = [];
const kysely = new Kysely<unknown>({
  dialect: new SqliteDialect({ database: sqlite }),
  log: (event) => {
    if (event.level === 'query') queries.push({ sql: event.query.sql, parameters: event.query.parameters });
  },
});
const store = new FhirStore({ kysely }, parseContentKeys(crypto.randomBytes(32).toString('base64')));

function person(n: number): Bundle<FhirResource> {
  const nhs = `999000${String(n).padStart(4, '0')}`;
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
        resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: nhs }], name: [{ family: `Family${n}`, given: ['Ann'] }], birthDate: '1950-01-01' },
        request: { method: 'PUT', url: `Patient?identifier=${NHS}|${nhs}` },
      },
      {
        resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'IMP' }, identifier: [{ system: 'urn:visit', value: `V${n}` }], subject: { reference: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}` } },
        request: { method: 'PUT', url: `Encounter?identifier=urn:visit|V${n}` },
      },
      {
        resource: { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}` } },
        request: { method: 'POST', url: 'EpisodeOfCare' },
      },
    ],
  };
}

beforeAll(async () => {
  await migrateToLatest(kysely);
  for (let n = 1; n <= 5; n++) await store.transaction(person(n));
});

afterAll(async () => {
  await kysely.destroy();
});

/** The plans of the queries on fhir_index that `work` runs. */
async function plansOf(work: () => Promise<unknown>): Promise<string[]> {
  queries.length = 0;
  await work();
  return queries
    .filter((q) => /^select/i.test(q.sql) && /fhir_index/.test(q.sql))
    .map((q) =>
      sqlite
        .prepare(`explain query plan ${q.sql}`)
        .all(...(q.parameters as unknown[]))
        .map((row) => (row as { detail: string }).detail)
        .join(' | '),
    );
}

const patientId = async () => (await store.search('Patient', new URLSearchParams(`identifier=${NHS}|9990000003`))).matches[0].id;

test.each([
  ['identifier', 'Patient', () => `identifier=${NHS}|9990000003`],
  ['a reference parameter', 'Encounter', async () => `subject=Patient/${await patientId()}`],
  ['a chained identifier', 'EpisodeOfCare', () => `patient.identifier=${NHS}|9990000003`],
  ['status', 'Encounter', () => 'status=finished'],
  ['name and birth date (the viewer find page)', 'Patient', () => 'family=family3&birthdate=1950-01-01'],
  ['_revinclude (the viewer record search)', 'Patient', async () => `_id=${await patientId()}&_revinclude=Encounter:subject&_revinclude=EpisodeOfCare:patient`],
])('a search by %s looks its value up in the index', async (_what, type, query) => {
  const params = new URLSearchParams(await query());
  const plans = await plansOf(async () => expect((await store.search(type, params)).total).toBeGreaterThan(0));
  expect(plans.length).toBeGreaterThan(0);
  for (const plan of plans) {
    expect(plan).toContain('fhir_index_lookup');
    expect(plan).not.toMatch(/SCAN fhir_index|fhir_index_resource \(resource_type=\?\)|EXISTS USING INDEX fhir_index_resource/);
  }
});

test('a conditional update by identifier (every Bundle a source sends) looks the identifier up', async () => {
  const plans = await plansOf(() => store.transaction(person(3)));
  expect(plans.length).toBeGreaterThan(0);
  for (const plan of plans) expect(plan).toContain('fhir_index_lookup');
});
