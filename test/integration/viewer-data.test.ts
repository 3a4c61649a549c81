// The viewer's data (server/viewer/record.ts) against the sandbox FHIR server in its own
// process, filled with what the shipped mappings really write: the sample CLD extract and ADT
// messages for the same people (same NHS numbers), so one person is two Patients — the
// council's (keyed on its person id) and the hospital's (keyed on the trust's MRN).
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Bundle, FhirResource } from 'fhir/r4.js';
import { setLocalSandbox } from '../../adapters/fhir/local-sandbox.js';
import { mapHl7ToBundle } from '../../mappings/index.js';
import { mapCldRows, readCldCsv } from '../../mappings/social-care/cld.js';
import { InvalidQueryError, RecordRequestError, RecordUnavailableError, type PersonRecord, type ViewerData } from '../../server/viewer/model.js';
import { createViewerData, PersonIds } from '../../server/viewer/record.js';
import { SANDBOX_HOOK_TIMEOUT_MS, startFhirSandbox, type FhirSandboxProcess } from '../support/fhir-sandbox-process.js';

const ANNA = '9434765919'; // CLD P1001 (services, worker, carer C2001) and ADT ELLIS^ANNA (A01 then A03)
const KWAME = '9449305552'; // CLD P1002 (one service ended, one current) and ADT OWUSU^KWAME (A02 transfer)
const SEALED = '9990000018'; // ADT HUSSAIN^AMIR (A05), plus a council Patient marked restricted
const KEY = crypto.randomBytes(32);
const NOW = new Date('2026-08-01T12:00:00Z');
const RESTRICTED = { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] };

const cldRows = readCldCsv(readFileSync('channels/examples/extracts/cld-sample.csv', 'utf8')).map((r) => r.raw);
const cld = (person: string): Bundle => mapCldRows(cldRows.filter((r) => r.LA_Person_Unique_Identifier === person), { asOf: '2026-03-31' }).bundle;
const adt = (name: string): Bundle => mapHl7ToBundle(readFileSync(`mappings/hl7v2/cases/${name}.hl7`, 'utf8')).bundle;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('viewer data from the shared care record', () => {
  let sandbox: FhirSandboxProcess;
  let data: ViewerData;
  let patientIds: Record<string, string[]>;

  async function post(body: unknown, path = ''): Promise<Record<string, unknown>> {
    const res = await fetch(`${sandbox.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`POST ${path || 'transaction'}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async function patientsOf(nhsNumber: string): Promise<string[]> {
    const { body } = await sandbox.get(`/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|${nhsNumber}`);
    return ((body.entry ?? []) as { resource: FhirResource }[]).map((e) => e.resource.id!);
  }

  beforeAll(async () => {
    sandbox = await startFhirSandbox();
    // The sources interleave: each upserts its own Patient (see test/integration/adt-cld-patients.test.ts).
    for (const bundle of [adt('a01-admit-bst-repeats'), cld('P1001'), adt('a03-discharge'), cld('C2001'), cld('P1002'), adt('a02-transfer-gmt'), adt('a05-preadmit')]) await post(bundle);
    const [anna] = await patientsOf(ANNA);
    // Withheld from the viewer: a restricted Flag and service for Anna, a restricted Patient of P1003's.
    await post({ resourceType: 'Flag', meta: RESTRICTED, status: 'active', code: { text: 'Sealed safeguarding note' }, subject: { reference: `Patient/${anna}` } }, '/Flag');
    await post({ resourceType: 'EpisodeOfCare', meta: RESTRICTED, status: 'active', type: [{ text: 'Sexual health service' }], patient: { reference: `Patient/${anna}` } }, '/EpisodeOfCare');
    await post({ resourceType: 'Flag', status: 'active', code: { text: 'Lives alone' }, subject: { reference: `Patient/${anna}` } }, '/Flag');
    await post({ resourceType: 'Patient', meta: RESTRICTED, identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: SEALED }], birthDate: '1965-05-05' }, '/Patient');
    patientIds = { [ANNA]: await patientsOf(ANNA), [KWAME]: await patientsOf(KWAME), [SEALED]: await patientsOf(SEALED) };
    data = await createViewerData({ url: sandbox.baseUrl, personIdKey: KEY, now: () => NOW, requestTimeoutMs: 5000, budgetMs: 20000 });
  }, SANDBOX_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    setLocalSandbox(undefined);
    await sandbox?.close();
  });

  it('the record holds two Patients for each person (the council and the hospital)', () => {
    expect(patientIds[ANNA]).toHaveLength(2);
    expect(patientIds[KWAME]).toHaveLength(2);
    expect(patientIds[SEALED]).toHaveLength(2);
  });

  describe('find', () => {
    it('by NHS number: one person for the two Patients, named from the hospital record', async () => {
      const found = await data.find({ kind: 'nhs-number', nhsNumber: '943 476 5919' });
      expect(found).toEqual([
        {
          id: expect.any(String),
          name: 'ELLIS, Anna Marie (Mrs)',
          nhsNumber: ANNA,
          birthDate: '1978-03-12',
          gender: 'female',
          address: '12 ORCHARD ROAD, FLAT 3, LEEDS, LS6 2AB',
          postcode: 'LS6 2AB',
          deceased: false,
        },
      ]);
      // The id opens to exactly the two Patients, and carries neither NHS number nor name.
      expect(new PersonIds(KEY).open(found[0].id)?.sort()).toEqual([...patientIds[ANNA]].sort());
      expect(found[0].id).not.toMatch(/9434765919|ellis|anna/i);
      expect(found[0].id).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it('by family name and date of birth (any case): the same person, with the same id', async () => {
      const [byNumber] = await data.find({ kind: 'nhs-number', nhsNumber: ANNA });
      const found = await data.find({ kind: 'demographics', family: 'ellis', birthDate: '1978-03-12' });
      expect(found.map((p) => p.id)).toEqual([byNumber.id]);
      expect(await data.find({ kind: 'demographics', family: 'Ellis', given: 'anna', birthDate: '1978-03-12', gender: 'female', postcode: 'ls62ab' })).toHaveLength(1);
    });

    it('postcode and gender narrow the people found (checked here, not by the server)', async () => {
      expect(await data.find({ kind: 'demographics', family: 'Ellis', birthDate: '1978-03-12', postcode: 'FY1 1AA' })).toEqual([]);
      expect(await data.find({ kind: 'demographics', family: 'Ellis', birthDate: '1978-03-12', gender: 'male' })).toEqual([]);
      // The council's Patient holds another postcode (LS1 4AP): a postcode on either Patient finds the person.
      expect(await data.find({ kind: 'demographics', family: 'Ellis', birthDate: '1978-03-12', postcode: 'LS1 4AP' })).toHaveLength(1);
      expect(await data.find({ kind: 'demographics', family: 'Ellis', birthDate: '1978-03-13' })).toEqual([]);
    });

    it('a person with a restricted Patient is not found; nor is an unknown NHS number', async () => {
      expect(await data.find({ kind: 'nhs-number', nhsNumber: SEALED })).toEqual([]);
      expect(await data.find({ kind: 'demographics', family: 'Hussain', birthDate: '1965-05-05' })).toEqual([]);
      expect(await data.find({ kind: 'nhs-number', nhsNumber: '9990001006' })).toEqual([]);
    });

    it('a person known only to the council has no name, said plainly', async () => {
      const [p] = await data.find({ kind: 'nhs-number', nhsNumber: '9912003888' });
      expect(p).toMatchObject({ name: 'Name not recorded', nhsNumber: '9912003888', birthDate: '1944-02-20', gender: 'male', postcode: 'LS1 4AP' });
    });

    it('refuses a malformed query with a reason', async () => {
      await expect(data.find({ kind: 'nhs-number', nhsNumber: '1234567890' })).rejects.toThrow(InvalidQueryError);
      await expect(data.find({ kind: 'nhs-number', nhsNumber: '94347' })).rejects.toThrow(/10 digits/);
      await expect(data.find({ kind: 'demographics', family: ' ', birthDate: '1978-03-12' })).rejects.toThrow(/family name/);
      await expect(data.find({ kind: 'demographics', family: 'Ellis', birthDate: '12/03/1978' })).rejects.toThrow(/YYYY-MM-DD/);
    });
  });

  describe('record', () => {
    let anna: PersonRecord;
    let kwame: PersonRecord;
    beforeAll(async () => {
      anna = (await data.record((await data.find({ kind: 'nhs-number', nhsNumber: ANNA }))[0].id))!;
      kwame = (await data.record((await data.find({ kind: 'nhs-number', nhsNumber: KWAME }))[0].id))!;
    });

    it('banner: demographics, age at today, GP practice from the hospital record', () => {
      expect(anna.banner).toEqual({
        name: 'ELLIS, Anna Marie (Mrs)',
        nhsNumber: ANNA,
        birthDate: '1978-03-12',
        age: 48,
        gender: 'female',
        address: '12 ORCHARD ROAD, FLAT 3, LEEDS, LS6 2AB',
        gpPractice: 'LEEDS HEALTH CENTRE',
      });
      expect(kwame.banner).toMatchObject({ name: 'OWUSU, Kwame (Mr)', age: 73 });
    });

    it('identifiers of both Patients, for the audit entry', () => {
      expect(anna.identifiers).toEqual(
        expect.arrayContaining([
          { system: 'https://fhir.nhs.uk/Id/nhs-number', value: ANNA },
          { system: 'https://fhir.x26.gov.uk/Id/person-id', value: 'P1001' },
          { system: 'urn:tramline:id:RXX:RXX', value: 'RX1001' },
        ]),
      );
    });

    it('services: start, end and whether current; provenance names the council and the CLD', () => {
      const council = { organisation: 'Tramline Sample Borough Council', system: 'Adult social care record (CLD)', lastUpdated: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) };
      expect(anna.socialCare.services).toEqual([
        { title: 'Home Support', category: 'Long Term Support: Community', status: 'active', start: '2025-10-21', current: true, provenance: council },
      ]);
      expect(kwame.socialCare.services).toEqual([
        { title: 'Long Term Nursing Care', category: 'Long Term Support: Nursing Care', status: 'active', start: '2025-09-01', current: true, provenance: council },
        { title: 'Long Term Residential Care', category: 'Long Term Support: Residential Care', status: 'finished', start: '2024-06-01', end: '2025-08-31', current: false, provenance: council },
      ]);
    });

    it('requests, assessments and reviews with their outcomes, newest first', () => {
      expect(anna.socialCare.events.map(({ provenance: _p, ...e }) => e)).toEqual([
        { kind: 'review', title: 'Planned review', status: 'finished', start: '2026-01-15', end: '2026-01-15', outcome: 'No change in package; outcomes fully achieved' },
        { kind: 'assessment', title: 'Long Term Support Assessment', status: 'finished', start: '2025-10-04', end: '2025-10-20', outcome: 'Long Term Support' },
        { kind: 'request', title: 'Request for adult social care support', status: 'completed', start: '2025-10-01', end: '2025-10-03', outcome: 'Progress to Assessment' },
      ]);
      expect(anna.socialCare.events[0].provenance.organisation).toBe('Tramline Sample Borough Council');
    });

    it('allocated worker and team with its phone', () => {
      expect(anna.socialCare.allocated).toEqual([
        {
          worker: { name: 'Sam Okafor', role: 'Social Worker' },
          team: { name: 'North Locality Team', phone: '0113 496 0000' },
          provenance: expect.objectContaining({ organisation: 'Tramline Sample Borough Council' }),
        },
      ]);
      expect(kwame.socialCare.allocated).toEqual([]);
    });

    it('carers: the unpaid carer from the council and next of kin from the hospital', () => {
      const carers = anna.socialCare.carers.map(({ provenance, ...c }) => ({ ...c, system: provenance.system }));
      expect(carers).toEqual(
        expect.arrayContaining([
          { relationship: 'Unpaid carer', system: 'Adult social care record (CLD)' },
          { name: 'MR MARK ELLIS', relationship: 'Spouse', phone: '07700 900456', system: 'Hospital patient administration (RXX)' },
          { name: 'RUBY ELLIS', relationship: 'Child', system: 'Hospital patient administration (RXX)' },
        ]),
      );
      expect(carers).toHaveLength(3);
    });

    it('hospital: admission and discharge with ward, bed and consultant; a transfer keeps the ward left', () => {
      expect(anna.hospital.encounters).toEqual([
        {
          class: 'Inpatient',
          status: 'finished',
          admitted: '2026-07-14T09:30:00+01:00',
          discharged: '2026-07-20T16:30:00+01:00',
          ward: 'WARD7, R2 BED3',
          transfers: [],
          consultant: 'Mr Chidi Okafor',
          hospital: 'RXX',
          dischargeDestination: 'Usual place of residence',
          provenance: { organisation: 'RXX', system: 'Hospital patient administration (RXX)', lastUpdated: expect.any(String) },
        },
      ]);
      expect(kwame.hospital.encounters).toEqual([
        expect.objectContaining({ class: 'Inpatient', status: 'in-progress', ward: 'WARD9, BED12', transfers: [{ location: 'WARD4', to: '2026-01-15T14:25:00+00:00' }], consultant: 'Mr Chidi Okafor' }),
      ]);
    });

    it('problems from both areas; alerts without the restricted one', () => {
      expect(anna.problems.map((p) => [p.area, p.title])).toEqual([
        ['hospital', 'Chest pain, unspecified'],
        ['social care', 'Primary support reason: Physical Support: Personal care support'],
      ]);
      expect(anna.alerts.map((a) => a.title)).toEqual(['Lives alone']);
    });

    it('never returns a restricted resource', () => {
      const text = JSON.stringify(anna);
      expect(text).not.toContain('Sexual health service');
      expect(text).not.toContain('Sealed safeguarding note');
    });

    it('timeline across both areas, newest first', () => {
      expect(anna.timeline.map((t) => [t.area, t.title])).toEqual([
        ['hospital', 'Discharged from hospital'],
        ['hospital', 'Admitted to hospital'],
        ['social care', 'Review: Planned review'],
        ['social care', 'Service started: Home Support'],
        ['social care', 'Assessment: Long Term Support Assessment'],
        ['social care', 'Request: Request for adult social care support'],
      ]);
      const times = anna.timeline.map((t) => Date.parse(t.at));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(anna.timeline[1]).toMatchObject({ detail: 'WARD7, R2 BED3, RXX', provenance: { organisation: 'RXX' } });
      expect(kwame.timeline.map((t) => t.title)).toContain('Service ended: Long Term Residential Care');
    });

    it('a section with nothing is an empty list', async () => {
      const [carer] = await data.find({ kind: 'nhs-number', nhsNumber: '9912003888' });
      const record = (await data.record(carer.id))!;
      expect(record.hospital.encounters).toEqual([]);
      expect(record.socialCare.allocated).toEqual([]);
      expect(record.socialCare.carers).toEqual([]);
      expect(record.alerts).toEqual([]);
      expect(record.socialCare.services.map((s) => s.title)).toEqual(['Carer Respite']);
    });

    it('unknown, forged or restricted person → undefined', async () => {
      const ids = new PersonIds(KEY);
      expect(await data.record(ids.seal(['no-such-patient']))).toBeUndefined();
      expect(await data.record('not-a-person-id')).toBeUndefined();
      expect(await data.record(new PersonIds(crypto.randomBytes(32)).seal(patientIds[ANNA]))).toBeUndefined();
      // Asking for only the hospital's (unrestricted) Patient still finds the restricted one.
      for (const id of patientIds[SEALED]) expect(await data.record(ids.seal([id]))).toBeUndefined();
    });

    it('one Patient id is enough: the person\'s other Patients are found by NHS number', async () => {
      const record = await data.record(new PersonIds(KEY).seal([patientIds[ANNA][0]]));
      expect(record?.socialCare.services).toHaveLength(1);
      expect(record?.hospital.encounters).toHaveLength(1);
    });
  });

  describe('the engine sandbox and authentication', () => {
    it('with no url and no TRAMLINE_LPRES_URL it reads the engine sandbox with the engine token', async () => {
      await sandbox.acceptTokens(['engine-token']);
      try {
        const local = await createViewerData({ env: {}, personIdKey: KEY });
        await expect(local.find({ kind: 'nhs-number', nhsNumber: ANNA })).rejects.toThrow(/not listening yet/);
        setLocalSandbox({ baseUrl: sandbox.baseUrl, token: 'engine-token' });
        expect(await local.find({ kind: 'nhs-number', nhsNumber: ANNA })).toHaveLength(1);
        const requests = await sandbox.received();
        expect(requests.at(-1)?.authorization).toBe('Bearer engine-token');
      } finally {
        setLocalSandbox(undefined);
        await sandbox.acceptTokens([]);
      }
    });

    it('TRAMLINE_LPRES_URL with the fhir destination auth (bearer); a refused token is a RecordRequestError', async () => {
      await sandbox.acceptTokens(['lpres-token']);
      try {
        const authed = await createViewerData({ env: { TRAMLINE_LPRES_URL: sandbox.baseUrl, VIEWER_TOKEN: 'lpres-token' }, auth: { type: 'bearer', tokenEnv: 'VIEWER_TOKEN' } });
        expect(await authed.find({ kind: 'nhs-number', nhsNumber: ANNA })).toHaveLength(1);
        const anonymous = await createViewerData({ env: { TRAMLINE_LPRES_URL: sandbox.baseUrl } });
        const err = await anonymous.find({ kind: 'nhs-number', nhsNumber: ANNA }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RecordRequestError);
        expect((err as RecordRequestError).status).toBe(401);
        expect((err as Error).message).toContain(sandbox.baseUrl);
        expect((err as Error).message).not.toContain(ANNA);
      } finally {
        await sandbox.acceptTokens([]);
      }
    });
  });

  describe('failures', () => {
    it('a 5xx is RecordUnavailableError naming the server, not the person', async () => {
      await sandbox.faults([{ path: '^/Patient', status: 503, times: 1 }]);
      const err = await data.find({ kind: 'nhs-number', nhsNumber: ANNA }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RecordUnavailableError);
      expect((err as Error).message).toMatch(/HTTP 503/);
      expect((err as Error).message).toContain(sandbox.baseUrl);
      expect((err as Error).message).not.toContain(ANNA);
    });

    it('a slow server: the per-request timeout, then the overall budget', async () => {
      const slow = await createViewerData({ url: sandbox.baseUrl, requestTimeoutMs: 300, budgetMs: 20000 });
      await sandbox.faults([{ path: '^/Patient', delayMs: 3000, times: 1 }]);
      const err = await slow.find({ kind: 'nhs-number', nhsNumber: ANNA }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RecordUnavailableError);
      expect((err as Error).message).toMatch(/no response within 300 ms/);
      // Each request within its own limit, but together over the budget (two searches by name).
      const budgeted = await createViewerData({ url: sandbox.baseUrl, requestTimeoutMs: 20000, budgetMs: 600 });
      await sandbox.faults([{ path: '^/Patient', delayMs: 400, times: 2 }]);
      const over = await budgeted.find({ kind: 'demographics', family: 'Ellis', birthDate: '1978-03-12' }).catch((e: unknown) => e);
      expect(over).toBeInstanceOf(RecordUnavailableError);
      expect((over as Error).message).toMatch(/did not answer within 600 ms/);
      await sandbox.faults([]);
    });

    it('connection refused is RecordUnavailableError', async () => {
      const nowhere = await createViewerData({ url: `http://127.0.0.1:${await freePort()}/fhir` });
      await expect(nowhere.find({ kind: 'nhs-number', nhsNumber: ANNA })).rejects.toThrow(RecordUnavailableError);
    });

    it('the sandbox stopped: RecordUnavailableError for find and record', async () => {
      const [anna] = await data.find({ kind: 'nhs-number', nhsNumber: ANNA });
      await sandbox.close();
      await expect(data.find({ kind: 'nhs-number', nhsNumber: ANNA })).rejects.toThrow(RecordUnavailableError);
      await expect(data.record(anna.id)).rejects.toThrow(/shared care record is unavailable/);
    });
  });
});
