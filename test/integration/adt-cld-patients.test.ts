// The hospital (ADT mapping) and the council (CLD mapping) each write a Patient for the same
// person into the shared care record, in any order, against the real sandbox FHIR server.
// Each source owns its Patient: the council's is keyed on its person id, the hospital's on an
// identifier scoped to the trust (its MRN, else the NHS number under the trust's system), so
// neither ever updates the other's — no 412 from a conditional update matching both, no council
// Patient overwritten, no merge deactivating the council's Patient.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Bundle, BundleEntry, Encounter, Patient } from 'fhir/r4.js';
import { setLocalSandbox } from '../../adapters/fhir/local-sandbox.js';
import { mapHl7ToBundle } from '../../mappings/index.js';
import { mapCldRows, readCldCsv } from '../../mappings/social-care/cld.js';
import { SANDBOX_HOOK_TIMEOUT_MS, startFhirSandbox, type FhirSandboxProcess } from '../support/fhir-sandbox-process.js';

const NHS_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
const ANNA = { nhs: '9434765919', person: 'P1001', mrn: 'urn:tramline:id:RXX:RXX|RX1001' }; // ADT ELLIS^ANNA, visit V55501
const KWAME = { nhs: '9449305552', person: 'P1002', mrn: 'urn:tramline:id:RXX:RXX|RX1002' }; // ADT OWUSU^KWAME, visit V55502
const MERGED_AWAY = { nhs: '9990001006', person: 'P1004' }; // only the council knows this person
const COUNCIL_SYSTEM = 'https://fhir.x26.gov.uk/Id/person-id';

const cldRows = readCldCsv(readFileSync('channels/examples/extracts/cld-sample.csv', 'utf8')).map((r) => r.raw);
const cld = (person: string): Bundle => mapCldRows(cldRows.filter((r) => r.LA_Person_Unique_Identifier === person), { asOf: '2026-03-31' }).bundle;
const hl7Case = (name: string): string => readFileSync(`mappings/hl7v2/cases/${name}.hl7`, 'utf8');
const adt = (text: string): Bundle => mapHl7ToBundle(text).bundle;
/** A case message sent as another event of the same visit (MSH-9), with its own control id. */
const asEvent = (text: string, from: string, to: string, controlId: string): string =>
  text.replace(`ADT^${from}^ADT_${from}`, `ADT^${to}^ADT_A01`).replace(/\|TL\d{4}\|/, `|${controlId}|`);

const ids = (p: Patient): string[] => (p.identifier ?? []).map((i) => `${i.system}|${i.value}`);

describe('ADT and CLD Patients for the same person in the shared care record', () => {
  let sandbox: FhirSandboxProcess;

  /** POST a transaction; every one must succeed (200) with every entry 200 or 201. */
  async function post(bundle: Bundle): Promise<Bundle> {
    const res = await fetch(sandbox.baseUrl, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(bundle) });
    const body = (await res.json()) as Bundle;
    expect({ status: res.status, body: res.status === 200 ? 'ok' : body }).toEqual({ status: 200, body: 'ok' });
    for (const e of body.entry ?? []) expect(e.response?.status).toMatch(/^20[01]/);
    return body;
  }

  async function search<T>(query: string): Promise<T[]> {
    const { status, body } = await sandbox.get(query);
    expect(status).toBe(200);
    return ((body.entry ?? []) as BundleEntry[]).map((e) => e.resource as T);
  }

  const patientsWithNhs = (nhs: string) => search<Patient>(`/Patient?identifier=${NHS_SYSTEM}|${nhs}`);

  /** The person's two Patients, told apart by who keyed them. */
  async function councilAndHospital(nhs: string, person: string, hospitalKey: string): Promise<{ council: Patient; hospital: Patient }> {
    const patients = await patientsWithNhs(nhs);
    expect(patients).toHaveLength(2);
    const council = patients.find((p) => ids(p).includes(`${COUNCIL_SYSTEM}|${person}`));
    const hospital = patients.find((p) => ids(p).includes(hospitalKey));
    expect(council).toBeDefined();
    expect(hospital).toBeDefined();
    expect(council!.id).not.toBe(hospital!.id);
    return { council: council!, hospital: hospital! };
  }

  /** The council's Patient is as the CLD mapping wrote it: its identifiers and managing organisation. */
  function expectCouncilOwn(council: Patient, person: string, nhs: string): void {
    expect(ids(council).sort()).toEqual([`${COUNCIL_SYSTEM}|${person}`, `${NHS_SYSTEM}|${nhs}`].sort());
    expect(council.managingOrganization?.reference).toMatch(/^Organization\//);
    expect(council.active).not.toBe(false);
  }

  beforeAll(async () => {
    sandbox = await startFhirSandbox();
  }, SANDBOX_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    setLocalSandbox(undefined);
    await sandbox?.close();
  });

  it('A01, then the CLD extract, then A03: two Patients, and the A03 updates the hospital Encounter', async () => {
    await post(adt(hl7Case('a01-admit-bst-repeats')));
    await post(cld(ANNA.person));
    await post(adt(hl7Case('a03-discharge')));

    const { council, hospital } = await councilAndHospital(ANNA.nhs, ANNA.person, ANNA.mrn);
    expectCouncilOwn(council, ANNA.person, ANNA.nhs);
    expect(ids(hospital)).toContain(`${NHS_SYSTEM}|${ANNA.nhs}`);
    expect(hospital.managingOrganization).toBeUndefined();

    const encounters = await search<Encounter>('/Encounter?identifier=urn:tramline:id:RXX:RXX_VISIT|V55501');
    expect(encounters).toHaveLength(1);
    expect(encounters[0]).toMatchObject({ status: 'finished', subject: { reference: `Patient/${hospital.id}` } });
  });

  it('CLD, A01, A08, CLD again: two Patients; neither source overwrites the other', async () => {
    const transfer = hl7Case('a02-transfer-gmt');
    await post(cld(KWAME.person));
    await post(adt(asEvent(transfer, 'A02', 'A01', 'TL9001')));
    const before = await councilAndHospital(KWAME.nhs, KWAME.person, KWAME.mrn);
    await post(adt(asEvent(transfer, 'A02', 'A08', 'TL9002')));
    await post(cld(KWAME.person));

    const { council, hospital } = await councilAndHospital(KWAME.nhs, KWAME.person, KWAME.mrn);
    expect([council.id, hospital.id]).toEqual([before.council.id, before.hospital.id]);
    expectCouncilOwn(council, KWAME.person, KWAME.nhs);
    expect(ids(hospital)).toEqual(expect.arrayContaining([`${NHS_SYSTEM}|${KWAME.nhs}`, KWAME.mrn]));
    expect(ids(hospital)).not.toContain(`${COUNCIL_SYSTEM}|${KWAME.person}`);
    expect(hospital.name?.[0]?.family).toBe('OWUSU');
    expect(await search<Encounter>('/Encounter?identifier=urn:tramline:id:RXX:RXX_VISIT|V55502')).toHaveLength(1);
  });

  it('an A40 whose MRG-1 is an NHS number the council holds never touches the council Patient', async () => {
    await post(cld(MERGED_AWAY.person));
    const [councilBefore] = await patientsWithNhs(MERGED_AWAY.nhs);
    expect(councilBefore).toBeDefined();

    const a40 = hl7Case('a40-merge-nhs');
    const mrg = 'MRG|9990000050^^^NHS^NH~RX9013^^^RXX^MR|';
    expect(a40).toContain(mrg);
    await post(adt(a40.replace(mrg, `MRG|${MERGED_AWAY.nhs}^^^NHS^NH|`)));

    const patients = await patientsWithNhs(MERGED_AWAY.nhs);
    expect(patients).toHaveLength(2);
    const council = patients.find((p) => p.id === councilBefore.id)!;
    expect(council.meta?.versionId).toBe(councilBefore.meta?.versionId);
    expectCouncilOwn(council, MERGED_AWAY.person, MERGED_AWAY.nhs);
    expect(council.link).toBeUndefined();

    const merged = patients.find((p) => p.id !== councilBefore.id)!;
    expect(merged.active).toBe(false);
    expect(ids(merged)).toContain(`urn:tramline:id:RXX:patient|${MERGED_AWAY.nhs}`);
    const [survivor] = await search<Patient>('/Patient?identifier=urn:tramline:id:RXX:RXX|RX1013');
    expect(merged.link).toEqual([{ other: { reference: `Patient/${survivor.id}` }, type: 'replaced-by' }]);
  });
});
