// Sandbox FHIR store on SQLite and PostgreSQL: transactions, conditional upserts, unchanged
// content keeps its version, urn:uuid: rewriting, search with _include/_revinclude, history.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Bundle, EpisodeOfCare, FhirResource, Patient } from 'fhir/r4.js';
import { identifierSearch } from '../../adapters/fhir/search-token.js';
import { FhirStore } from '../../server/fhir/store.js';
import { FhirError } from '../../server/fhir/outcome.js';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { BACKENDS, createBackend, type TestBackend } from '../integration/store-backends.js';
import { ALICE, BOB, COUNCIL_EVENT, COUNCIL_PERSON, NHS, personBundle } from '../support/fhir-fixtures.js';

const keys = parseContentKeys(crypto.randomBytes(32).toString('base64'));

async function rejection(p: Promise<unknown>): Promise<FhirError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FhirError) return err;
    throw err;
  }
  throw new Error('expected a FhirError');
}

describe.each(BACKENDS)('sandbox FHIR store on %s', (backendName) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let store: FhirStore;

  beforeAll(async () => {
    backend = createBackend(backendName);
    db = await backend.openMigrated();
    store = new FhirStore(db, keys);
  });
  afterAll(async () => {
    await db?.close();
    await backend?.cleanup();
  });

  it('stores a transaction, rewriting urn:uuid: references to the assigned ids', async () => {
    const { response, entries } = await store.transaction(personBundle(ALICE));
    expect(response.type).toBe('transaction-response');
    expect(response.entry!.map((e) => e.response!.status)).toEqual(['201 Created', '201 Created', '201 Created', '201 Created']);
    expect(response.entry![1].response!.location).toMatch(/^Patient\/[0-9a-f-]{36}\/_history\/1$/);
    expect(response.entry![1].response!.etag).toBe('W/"1"');

    const patient = entries[1].version!;
    const orgId = entries[0].version!.id;
    const eoc = (await store.read('EpisodeOfCare', entries[2].version!.id)).resource as EpisodeOfCare;
    expect(eoc.patient.reference).toBe(`Patient/${patient.id}`);
    expect(eoc.managingOrganization!.reference).toBe(`Organization/${orgId}`);
    expect(eoc.meta!.versionId).toBe('1');
    const readBack = (await store.read('Patient', patient.id)).resource as Patient;
    expect(readBack.identifier).toEqual([
      { system: NHS, value: ALICE.nhsNumber },
      { system: COUNCIL_PERSON, value: ALICE.personId },
    ]);
    expect(readBack.managingOrganization!.reference).toBe(`Organization/${orgId}`);
  });

  it('re-sending the same bundle changes nothing: same ids, same versions', async () => {
    const before = await store.search('Patient', new URLSearchParams({ identifier: `${COUNCIL_PERSON}|${ALICE.personId}` }));
    const { response, entries } = await store.transaction(personBundle(ALICE));
    expect(entries.every((e) => !e.changed)).toBe(true);
    expect(response.entry!.map((e) => e.response!.location)).toEqual(response.entry!.map((e) => e.response!.location!.replace(/\d+$/, '1')));
    const after = await store.search('Patient', new URLSearchParams({ identifier: `${COUNCIL_PERSON}|${ALICE.personId}` }));
    expect(after.total).toBe(1);
    expect(after.matches[0].id).toBe(before.matches[0].id);
    expect((await store.history('Patient', after.matches[0].id)).length).toBe(1);
  });

  it('a changed resource gets a new version and keeps its history', async () => {
    const changed = { ...ALICE, events: [ALICE.events[0], { ...ALICE.events[1], end: '2026-03-15' }] };
    const { entries } = await store.transaction(personBundle(changed));
    expect(entries.map((e) => e.changed)).toEqual([false, false, false, true]);
    const id = entries[3].version!.id;
    const versions = await store.history('EpisodeOfCare', id);
    expect(versions.map((v) => v.versionId)).toEqual([2, 1]);
    expect((versions[0].resource as EpisodeOfCare).period!.end).toBe('2026-03-15');
    expect(((await store.vread('EpisodeOfCare', id, 1)).resource as EpisodeOfCare).period!.end).toBe('2026-03-01');
  });

  it('conditional create (ifNoneExist) finds an existing resource instead of duplicating it', async () => {
    const existing = await store.search('Patient', new URLSearchParams({ identifier: `${NHS}|${ALICE.nhsNumber}` }));
    const result = await store.create(
      { resourceType: 'Patient', identifier: [{ system: NHS, value: ALICE.nhsNumber }] },
      { ifNoneExist: `identifier=${NHS}|${ALICE.nhsNumber}` },
    );
    expect(result.status).toBe('200 OK');
    expect(result.changed).toBe(false);
    expect(result.version!.id).toBe(existing.matches[0].id);
  });

  it('conditional upserts on identifiers holding & , | + and spaces each match their own resource', async () => {
    const ids = ['A&E', 'A', '3,East', '3', 'x|y', 'C+D', 'C D', 'back\\slash'];
    const bundle = (active: boolean): Bundle => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: ids.map((value) => ({
        resource: { resourceType: 'Location', identifier: [{ system: 'urn:x:ward', value }], status: active ? 'active' : 'inactive' },
        request: { method: 'PUT', url: identifierSearch('urn:x:ward', value, 'Location') },
      })),
    });
    const first = await store.transaction(bundle(true));
    expect(first.response.entry!.map((e) => e.response!.status)).toEqual(ids.map(() => '201 Created'));
    const second = await store.transaction(bundle(false));
    expect(second.response.entry!.map((e) => e.response!.status)).toEqual(ids.map(() => '200 OK'));
    expect(second.entries.map((e) => e.version!.id)).toEqual(first.entries.map((e) => e.version!.id));
    for (const value of ids) {
      const found = await store.search('Location', new URLSearchParams(identifierSearch('urn:x:ward', value)));
      expect(found.matches.map((m) => (m.resource as { identifier: { value: string }[] }).identifier[0].value)).toEqual([value]);
    }
  });

  it('a conditional update matching more than one resource fails with 412 and writes nothing', async () => {
    await store.create({ resourceType: 'Practitioner', identifier: [{ system: 'urn:x', value: 'twin' }] });
    await store.create({ resourceType: 'Practitioner', identifier: [{ system: 'urn:x', value: 'twin' }] });
    const err = await rejection(store.update({ resourceType: 'Practitioner', identifier: [{ system: 'urn:x', value: 'twin' }], active: true }, '?identifier=urn:x|twin'));
    expect(err.status).toBe(412);
    expect(err.message).not.toContain('twin');
  });

  it('is all or nothing: an invalid entry leaves the store untouched', async () => {
    const bundle = personBundle(BOB);
    (bundle.entry![2].resource as unknown as Record<string, unknown>).status = 'not-a-status';
    const err = await rejection(store.transaction(bundle));
    expect(err.status).toBe(422);
    expect(err.details.join('\n')).toMatch(/entry\[2\]\.resource\/status/);
    expect((await store.search('Patient', new URLSearchParams({ identifier: `${NHS}|${BOB.nhsNumber}` }))).total).toBe(0);

    // A failure after the other entries were written (the last PUT's If-Match is stale) rolls them back too.
    const late = personBundle(BOB);
    late.entry!.push({ resource: { resourceType: 'Organization', id: 'org-x', name: 'x' }, request: { method: 'PUT', url: 'Organization/org-x', ifMatch: 'W/"7"' } });
    expect((await rejection(store.transaction(late))).status).toBe(412);
    // …and a conditional reference that matches nothing is refused.
    const dangling = personBundle(BOB);
    dangling.entry!.push({ resource: { resourceType: 'Flag', status: 'active', code: { text: 'x' }, subject: { reference: 'Patient?identifier=urn:none|0' } }, request: { method: 'POST', url: 'Flag' } });
    expect((await rejection(store.transaction(dangling))).status).toBe(412);
    expect((await store.search('Patient', new URLSearchParams({ identifier: `${NHS}|${BOB.nhsNumber}` }))).total).toBe(0);
  });

  it('rejects malformed bundles with 400', async () => {
    expect((await rejection(store.transaction({ resourceType: 'Bundle', type: 'batch' } as Bundle))).status).toBe(400);
    const dangling: Bundle<FhirResource> = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: 'urn:uuid:missing' } }, request: { method: 'POST', url: 'EpisodeOfCare' } }],
    };
    expect((await rejection(store.transaction(dangling))).status).toBe(400);
    const wrongType: Bundle<FhirResource> = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Organization' } }] };
    expect((await rejection(store.transaction(wrongType))).status).toBe(400);
  });

  it('resolves conditional references, including to a resource created in the same bundle', async () => {
    const bundle = personBundle(BOB);
    bundle.entry!.push({
      resource: { resourceType: 'Flag', status: 'active', code: { text: 'Key safe' }, subject: { reference: `Patient?identifier=${COUNCIL_PERSON}|${BOB.personId}` } },
      request: { method: 'POST', url: 'Flag' },
    });
    const { entries } = await store.transaction(bundle);
    const flag = (await store.read('Flag', entries[3].version!.id)).resource as unknown as { subject: { reference: string } };
    expect(flag.subject.reference).toBe(`Patient/${entries[1].version!.id}`);
  });

  it("searches a person's record with _revinclude and _include", async () => {
    const params = new URLSearchParams();
    params.append('identifier', `${NHS}|${ALICE.nhsNumber}`);
    params.append('_revinclude', 'EpisodeOfCare:patient');
    params.append('_include', 'Patient:organization');
    const result = await store.search('Patient', params);
    expect(result.total).toBe(1);
    expect(result.matches.map((m) => m.resourceType)).toEqual(['Patient']);
    const included = result.included.map((v) => `${v.resourceType}:${(v.resource as { identifier?: { value: string }[] }).identifier?.[0]?.value}`).sort();
    expect(included).toEqual(['EpisodeOfCare:EV-1', 'EpisodeOfCare:EV-2', 'Organization:E09000099']);

    const patientId = result.matches[0].id;
    const episodes = await store.search('EpisodeOfCare', new URLSearchParams({ patient: patientId }));
    expect(episodes.matches.map((m) => (m.resource as EpisodeOfCare).identifier![0].value).sort()).toEqual(['EV-1', 'EV-2']);
    const iterate = new URLSearchParams([['_id', episodes.matches[0].id], ['_include', 'EpisodeOfCare:patient'], ['_include:iterate', 'Patient:organization']]);
    expect((await store.search('EpisodeOfCare', iterate)).included.map((v) => v.resourceType).sort()).toEqual(['Organization', 'Patient']);
    expect((await store.search('EpisodeOfCare', new URLSearchParams({ identifier: `${COUNCIL_EVENT}|EV-2` }))).total).toBe(1);
    expect((await store.search('EpisodeOfCare', new URLSearchParams({ identifier: 'EV-2' }))).total).toBe(1);
    const chained = await store.search('EpisodeOfCare', new URLSearchParams({ 'patient.identifier': `${NHS}|${ALICE.nhsNumber}` }));
    expect(chained.matches.map((m) => (m.resource as EpisodeOfCare).identifier![0].value).sort()).toEqual(['EV-1', 'EV-2']);
    expect((await store.search('EpisodeOfCare', new URLSearchParams({ 'patient.identifier': `${NHS}|9999999999` }))).total).toBe(0);
    const active = await store.search('EpisodeOfCare', new URLSearchParams({ patient: `Patient/${patientId}`, status: 'active' }));
    expect(active.matches.map((m) => (m.resource as EpisodeOfCare).identifier![0].value)).toEqual(['EV-1']);
    expect((await store.search('EpisodeOfCare', new URLSearchParams({ patient: patientId, status: 'active,finished' }))).total).toBe(2);
    expect((await rejection(store.search('Patient', new URLSearchParams({ nickname: 'x' })))).status).toBe(400);
    // A parameter FHIR defines for other types only is refused too, not ignored.
    expect((await rejection(store.search('Patient', new URLSearchParams({ 'based-on': 'ServiceRequest/1' })))).status).toBe(400);
  });

  it('deletes: read answers 410, history keeps the delete, search no longer finds it', async () => {
    const found = await store.search('EpisodeOfCare', new URLSearchParams({ identifier: `${COUNCIL_EVENT}|EV-9` }));
    const id = found.matches[0].id;
    const result = await store.delete('EpisodeOfCare', `?identifier=${COUNCIL_EVENT}|EV-9`);
    expect(result.status).toBe('204 No Content');
    expect((await rejection(store.read('EpisodeOfCare', id))).status).toBe(410);
    expect((await store.history('EpisodeOfCare', id)).map((v) => [v.versionId, v.deleted])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect((await store.search('EpisodeOfCare', new URLSearchParams({ identifier: `${COUNCIL_EVENT}|EV-9` }))).total).toBe(0);
    expect((await rejection(store.read('EpisodeOfCare', 'no-such-id'))).status).toBe(404);
  });

  it('concurrent transactions for the same new person create each resource once', async () => {
    const racer = { ...BOB, personId: 'P-RACE', events: [{ ref: 'EV-RACE', start: '2026-06-01' }] };
    const results = await Promise.all(Array.from({ length: 6 }, () => store.transaction(personBundle(racer))));
    expect(results.filter((r) => r.entries[1].changed)).toHaveLength(1);
    const patients = await store.search('Patient', new URLSearchParams({ identifier: `${COUNCIL_PERSON}|P-RACE` }));
    expect(patients.total).toBe(1);
    expect((await store.search('EpisodeOfCare', new URLSearchParams({ identifier: `${COUNCIL_EVENT}|EV-RACE` }))).total).toBe(1);
    expect(await store.history('Patient', patients.matches[0].id)).toHaveLength(1);
  });

  it('Bundles sent together share a commit, yet each is all or nothing: one failing late is rejected alone', async () => {
    const people = ['P-GRP-1', 'P-GRP-2', 'P-GRP-3'].map((personId, i) => ({ ...BOB, nhsNumber: ['9434765870', '9434765889', '9434765897'][i], personId, events: [{ ref: `EV-${personId}`, start: '2026-06-02' }] }));
    const failing = personBundle(people[1]);
    // Fails after its other entries were worked out (the last PUT's If-Match is stale).
    failing.entry!.push({ resource: { resourceType: 'Organization', id: 'org-grp', name: 'x' }, request: { method: 'PUT', url: 'Organization/org-grp', ifMatch: 'W/"3"' } });
    const [first, second, third] = await Promise.allSettled([store.transaction(personBundle(people[0])), store.transaction(failing), store.transaction(personBundle(people[2]))]);
    expect(first.status).toBe('fulfilled');
    expect(third.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
    expect(((second as PromiseRejectedResult).reason as FhirError).status).toBe(412);
    const found = async (personId: string) => (await store.search('Patient', new URLSearchParams({ identifier: `${COUNCIL_PERSON}|${personId}` }))).total;
    expect(await found('P-GRP-1')).toBe(1);
    expect(await found('P-GRP-2')).toBe(0);
    expect(await found('P-GRP-3')).toBe(1);
    expect((await store.search('EpisodeOfCare', new URLSearchParams({ identifier: `${COUNCIL_EVENT}|EV-P-GRP-2` }))).total).toBe(0);
    await expect(store.read('Organization', 'org-grp')).rejects.toMatchObject({ status: 404 });
    const stored = (first as PromiseFulfilledResult<Awaited<ReturnType<FhirStore['transaction']>>>).value;
    expect(stored.entries[1].version!.versionId).toBe(1);
    expect((await store.read('Patient', stored.entries[1].version!.id)).versionId).toBe(1);
  });

  it('keeps resource content sealed: identifiers are indexed, names never stored in clear', async () => {
    if (!backend.file) return;
    const fs = await import('node:fs');
    await db.close();
    const bytes = fs.readFileSync(backend.file);
    const wal = fs.existsSync(`${backend.file}-wal`) ? fs.readFileSync(`${backend.file}-wal`) : Buffer.alloc(0);
    expect(bytes.includes(Buffer.from(ALICE.family)) || wal.includes(Buffer.from(ALICE.family))).toBe(false);
    db = await backend.open();
    store = new FhirStore(db, keys);
  });
});
