// Every shipped example case passes, the cases cover what issue 4 asks for, and a
// mismatch is reported as a readable, path-addressed diff.
import { describe, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeHl7File, formatCaseResult, runMappingCases } from '../../mappings/engine/cases.js';
import { isValidNhsNumber } from '../../mappings/functions/nhs-number.js';
import { mapHl7ToBundle, loadMappingById, listMappings } from '../../mappings/index.js';

const ADT_DIR = 'mappings/hl7v2';
const CASES = join(ADT_DIR, 'cases');

describe('shipped HL7 v2 ADT cases', () => {
  const results = runMappingCases(ADT_DIR);

  it('all pass', () => {
    const failed = results.filter((r) => !r.ok).map(formatCaseResult);
    expect(failed).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(20);
  });

  it('cover every ADT event the mapping supports', () => {
    const events = new Set<string>();
    for (const f of readdirSync(CASES).filter((n) => n.endsWith('.hl7'))) {
      const msh = readFileSync(join(CASES, f), 'latin1').split(/\r|\n/)[0];
      events.add(msh.split('|')[8].split('^')[1]);
    }
    for (const e of ['A01', 'A02', 'A03', 'A04', 'A05', 'A08', 'A11', 'A12', 'A13', 'A28', 'A31', 'A34', 'A40']) expect(events).toContain(e);
  });

  it('use only NHS numbers that pass Modulus 11, except the case about an invalid one', () => {
    for (const f of readdirSync(CASES).filter((n) => n.endsWith('.hl7'))) {
      const text = readFileSync(join(CASES, f), 'latin1');
      for (const [, n] of text.matchAll(/(\d{10})\^\^\^NHS/g)) {
        if (f.startsWith('a31-invalid-nhs-number')) expect(isValidNhsNumber(n)).toBe(false);
        else expect(isValidNhsNumber(n)).toBe(true);
      }
    }
  });

  it('cover escapes, Latin-1, BST and GMT, merges and Z-segments in the expected output', () => {
    const read = (name: string) => readFileSync(join(CASES, `${name}.expected.json`), 'utf8');
    expect(read('a08-update-escapes')).toContain('Flat 2&3 Rose | Crown Yard');
    expect(read('a08-update-escapes')).toContain('Line A~Line B');
    expect(read('a08-update-escapes')).toContain('MARY ^ JANE');
    expect(read('a08-update-escapes')).toContain('C:\\\\data\\\\home');
    expect(read('a01-latin1')).toContain('BRONTË');
    expect(read('a01-admit-bst-repeats')).toContain('2026-07-14T09:30:00+01:00');
    expect(read('a02-transfer-gmt')).toContain('2026-01-12T08:00:00+00:00');
    expect(read('a40-merge-nhs')).toContain('"replaced-by"');
    expect(readFileSync(join(CASES, 'a01-admit-bst-repeats.hl7'), 'utf8')).toContain('\rZU1|');
  });
});

describe('vendor-style feeds degrade, never drop', () => {
  type Entry = { fullUrl: string; resource: { resourceType: string; identifier?: { system: string; value: string }[]; class?: unknown; type?: unknown }; request: { url: string } };
  const mapCase = (name: string) => mapHl7ToBundle(decodeHl7File(readFileSync(join(CASES, `${name}.hl7`))));
  const encounter = (name: string) => (mapCase(name).bundle.entry as Entry[]).find((e) => e.resource.resourceType === 'Encounter')!;

  it('gives every identifier system of every case a URI without whitespace, free-text authorities percent-encoded', () => {
    for (const f of readdirSync(CASES).filter((n) => n.endsWith('.hl7') && !n.startsWith('error-'))) {
      const systems = (mapCase(f.replace(/\.hl7$/, '')).bundle.entry as Entry[]).flatMap((e) => (e.resource.identifier ?? []).map((i) => i.system));
      expect({ f, bad: systems.filter((sys) => !/^\S+$/.test(sys)) }).toEqual({ f, bad: [] });
    }
    const patient = (mapCase('vendor-systemc-a04-empty-pd1').bundle.entry as Entry[])[0];
    expect(patient.resource.identifier).toContainEqual(expect.objectContaining({ system: "urn:tramline:id:RXC:St%20Mary's%20Hospital", value: 'M0456123' }));
  });

  it('keys an Encounter without a visit number on facility, patient and admit time: the A03 finds the A01', () => {
    const admit = encounter('vendor-epic-a01-no-visit-number');
    const discharge = encounter('vendor-epic-a03-no-visit-number');
    expect(admit.resource.identifier?.[0].system).toBe('urn:tramline:derived-visit:RXA');
    expect(discharge.request.url).toBe(admit.request.url);
    expect(discharge.fullUrl).toBe(admit.fullUrl);
    // Another admission of the same patient is another Encounter.
    const text = decodeHl7File(readFileSync(join(CASES, 'vendor-epic-a01-no-visit-number.hl7')));
    const later = text.replace(/\|202607141015\r/, '|202608011200\r');
    expect(later).not.toBe(text);
    const laterEncounter = (mapHl7ToBundle(later).bundle.entry as Entry[]).find((x) => x.resource.resourceType === 'Encounter')!;
    expect(laterEncounter.request.url).not.toBe(admit.request.url);
  });

  it('gives each OBX its own Observation, and each procedure of a patient its own Procedure id', () => {
    const observations = (mapCase('vendor-epic-a01-no-visit-number').bundle.entry as Entry[]).filter((e) => e.resource.resourceType === 'Observation');
    expect(new Set(observations.map((o) => o.request.url)).size).toBe(3);
    const text = decodeHl7File(readFileSync(join(CASES, 'a01-admit-bst-repeats.hl7')));
    const procedureUrl = (hl7: string) => (mapHl7ToBundle(hl7).bundle.entry as Entry[]).find((e) => e.resource.resourceType === 'Procedure')!.request.url;
    const later = text.replace('||20260714110000|D|', '||20260715110000|D|');
    expect(later).not.toBe(text);
    expect(procedureUrl(later)).not.toBe(procedureUrl(text));
  });

  it('keeps an unknown patient class as Encounter.type text, with class v3-NullFlavor UNK and a warning', () => {
    const result = mapCase('vendor-lorenzo-a01-day-case');
    const e = (result.bundle.entry as Entry[]).find((x) => x.resource.resourceType === 'Encounter')!;
    expect(e.resource.class).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/v3-NullFlavor', code: 'UNK', display: 'unknown' });
    expect(e.resource.type).toEqual([{ text: 'DAY CASE' }]);
    expect(result.issues.map((i) => i.message)).toEqual(['code "DAY CASE" is not in code map hl7-0004-encounter-class']);
  });
});

describe('ADT coverage: Encounter, Locations, hospitalization, participants, next of kin, religion, ROL', () => {
  // Loosely typed: these assertions read FHIR elements field by field.
  type Resource = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  type Entry = { fullUrl: string; resource: Resource; request: { url: string } };
  const mapCase = (name: string) => mapHl7ToBundle(decodeHl7File(readFileSync(join(CASES, `${name}.hl7`))));
  const entries = (name: string) => mapCase(name).bundle.entry as Entry[];
  const ofType = (name: string, type: string) => entries(name).filter((e) => e.resource.resourceType === type);
  const byUrl = (list: Entry[], url: string) => list.find((e) => e.fullUrl === url)?.resource;
  const UKCORE_CS = 'https://fhir.hl7.org.uk/CodeSystem/';
  const EXT = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-';

  it('gives an Encounter for every message with a PV1, except a demographic event whose PV1-2 is N', () => {
    for (const f of readdirSync(CASES).filter((n) => n.endsWith('.hl7') && !n.startsWith('error-'))) {
      const text = decodeHl7File(readFileSync(join(CASES, f)));
      const pv1 = text.split(/\r\n|\r|\n/).find((l) => l.startsWith('PV1|'));
      const event = text.split('|')[8].split('^')[1];
      const demographicNoVisit = ['A08', 'A28', 'A31', 'A34', 'A40'].includes(event) && pv1?.split('|')[2] === 'N';
      const encounters = ofType(f.replace(/\.hl7$/, ''), 'Encounter');
      expect({ f, encounters: encounters.length }).toEqual({ f, encounters: pv1 && !demographicNoVisit ? 1 : 0 });
    }
    expect(ofType('vendor-ipm-a31-pv1-not-applicable', 'Location')).toEqual([]);
    const a31 = ofType('vendor-systemc-a31-with-visit', 'Encounter')[0].resource;
    expect(a31.status).toBe('in-progress');
    expect(a31.identifier[0]).toEqual({ system: 'urn:tramline:id:RXC:Medway%20Spell', value: 'IP-1104-0044' });
  });

  it('A02: site, ward, room and bed Locations for where the patient is, was and is temporarily, each partOf the level above', () => {
    const name = 'vendor-lorenzo-a02-bay-bed-temporary';
    const locations = ofType(name, 'Location');
    const byKey = new Map(locations.map((l) => [l.resource.identifier[0].value as string, l]));
    expect([...byKey.keys()].sort()).toEqual([
      'RXD:RXD01',
      'RXD:RXD01:AMU',
      'RXD:RXD01:AMU:BAY 1',
      'RXD:RXD01:AMU:BAY 1:BED 2',
      'RXD:RXD01:DISCHARGE LOUNGE',
      'RXD:RXD01:WARD 12',
      'RXD:RXD01:WARD 12:BAY 3',
      'RXD:RXD01:WARD 12:BAY 3:BED 4',
    ]);
    const type = (key: string) => byKey.get(key)!.resource.physicalType.coding[0].code;
    const parent = (key: string) => byKey.get(key)!.resource.partOf?.reference;
    expect(['RXD:RXD01', 'RXD:RXD01:WARD 12', 'RXD:RXD01:WARD 12:BAY 3', 'RXD:RXD01:WARD 12:BAY 3:BED 4'].map(type)).toEqual(['si', 'wa', 'ro', 'bd']);
    expect(parent('RXD:RXD01:WARD 12:BAY 3:BED 4')).toBe(byKey.get('RXD:RXD01:WARD 12:BAY 3')!.fullUrl);
    expect(parent('RXD:RXD01:WARD 12:BAY 3')).toBe(byKey.get('RXD:RXD01:WARD 12')!.fullUrl);
    expect(parent('RXD:RXD01:WARD 12')).toBe(byKey.get('RXD:RXD01')!.fullUrl);
    expect(parent('RXD:RXD01')).toBeUndefined();
    for (const l of locations) {
      expect(l.resource.status).toBe('active');
      expect(l.request.url).toMatch(/^Location\?identifier=urn:tramline:id:RXD:location\|RXD:RXD01/);
    }
    // The same bed named by another message is the same Location.
    const a01 = decodeHl7File(readFileSync(join(CASES, `${name}.hl7`))).replace('ADT^A02^ADT_A02', 'ADT^A01^ADT_A01');
    const again = (mapHl7ToBundle(a01).bundle.entry as Entry[]).find((e) => e.resource.identifier?.[0]?.value === 'RXD:RXD01:WARD 12:BAY 3:BED 4');
    expect(again?.fullUrl).toBe(byKey.get('RXD:RXD01:WARD 12:BAY 3:BED 4')!.fullUrl);

    const encounter = ofType(name, 'Encounter')[0].resource;
    const where = encounter.location.map((l: Resource) => [byUrl(locations, l.location.reference)!.identifier[0].value, l.status, l.period]);
    expect(where).toEqual([
      ['RXD:RXD01:WARD 12', 'active', { start: '2026-12-08T14:20:00+00:00' }],
      ['RXD:RXD01:WARD 12:BAY 3:BED 4', 'active', { start: '2026-12-08T14:20:00+00:00' }],
      ['RXD:RXD01:WARD 12:BAY 3', 'active', { start: '2026-12-08T14:20:00+00:00' }],
      ['RXD:RXD01:AMU', 'completed', { end: '2026-12-08T14:20:00+00:00' }],
      ['RXD:RXD01:AMU:BAY 1:BED 2', 'completed', { end: '2026-12-08T14:20:00+00:00' }],
      ['RXD:RXD01:DISCHARGE LOUNGE', 'active', undefined],
    ]);
  });

  it('A02: both visit ids, admission method and source as NHS codes, hospital service, ROL attending and consulting', () => {
    const encounter = ofType('vendor-lorenzo-a02-bay-bed-temporary', 'Encounter')[0].resource;
    expect(encounter.identifier).toEqual([
      { system: 'urn:tramline:id:RXD:RXD_SPELL', value: 'LZS-55198' },
      { system: 'urn:tramline:id:RXD:RXD_EPISODE', value: 'LZE-88120' },
    ]);
    expect(encounter.hospitalization.extension).toEqual([
      {
        url: `${EXT}AdmissionMethod`,
        valueCodeableConcept: { coding: [{ system: `${UKCORE_CS}UKCore-AdmissionMethodEngland`, code: '21', display: expect.stringContaining('Emergency Admission') }] },
      },
    ]);
    expect(encounter.hospitalization.admitSource).toEqual({ coding: [{ system: `${UKCORE_CS}UKCore-SourceOfAdmissionEngland`, code: '19', display: 'Usual place of residence' }] });
    expect(encounter.serviceType).toEqual({ text: 'General Internal Medicine' });
    const practitioners = ofType('vendor-lorenzo-a02-bay-bed-temporary', 'Practitioner');
    const roles = encounter.participant.map((p: Resource) => [p.type[0].coding[0].code, byUrl(practitioners, p.individual.reference)!.identifier[0].value, p.period?.start]);
    expect(roles).toEqual([
      ['ATND', 'C6666666', '2026-12-08T14:20:00+00:00'],
      ['CON', 'C7777777', '2026-12-08T14:20:00+00:00'],
    ]);
  });

  it('A03: NHS discharge method and destination; local codes are kept as text with a warning each', () => {
    const a03 = ofType('a03-discharge', 'Encounter')[0].resource;
    expect(a03.extension).toEqual([
      { url: `${EXT}DischargeMethod`, valueCodeableConcept: { coding: [{ system: `${UKCORE_CS}UKCore-DischargeMethodEngland`, code: '1', display: expect.any(String) }] } },
    ]);
    expect(a03.hospitalization.dischargeDisposition).toEqual({ coding: [{ system: `${UKCORE_CS}UKCore-DischargeDestinationEngland`, code: '19', display: 'Usual place of residence' }] });

    const result = mapCase('vendor-cerner-a03-local-discharge-codes');
    const local = (result.bundle.entry as Entry[]).find((e) => e.resource.resourceType === 'Encounter')!.resource;
    expect(local.extension).toEqual([{ url: `${EXT}DischargeMethod`, valueCodeableConcept: { text: 'Self discharge' } }]);
    expect(local.hospitalization).toEqual({
      extension: [{ url: `${EXT}AdmissionMethod`, valueCodeableConcept: { text: 'Emergency' } }],
      admitSource: { text: 'GP referral' },
      dischargeDisposition: { text: 'Home with package of care' },
    });
    expect(result.issues.map((i) => i.message).sort()).toEqual([
      'code "2" is not in code map nhs-discharge-method',
      'code "E" is not in code map nhs-admission-method',
      'code "GPREF" is not in code map nhs-source-of-admission',
      'code "HOME" is not in code map nhs-discharge-destination',
    ]);
  });

  it('A11: a cancelled admission keeps its places without a status (the patient never was there) and has no end', () => {
    const encounter = ofType('a11-cancel-admit', 'Encounter')[0].resource;
    expect(encounter.status).toBe('cancelled');
    expect(encounter.period).toEqual({ start: '2026-07-14T09:30:00+01:00' });
    expect(encounter.location).toHaveLength(3);
    for (const l of encounter.location) expect(l.status).toBeUndefined();
  });

  it('A05: the pending location (PV1-42) as planned', () => {
    const encounter = ofType('vendor-systemc-a05-pending-location', 'Encounter')[0].resource;
    expect(encounter.status).toBe('planned');
    expect(encounter.location).toEqual([{ location: { reference: expect.stringMatching(/^urn:uuid:/), display: 'SEAHORSE WARD' }, status: 'planned' }]);
    expect(encounter.hospitalization.extension[0].valueCodeableConcept.coding[0].code).toBe('11');
  });

  it('A31 with PV1-2 N: religion, the GP from a ROL primary care provider, and an NK1 without a name as a RelatedPerson', () => {
    const result = mapCase('vendor-ipm-a31-pv1-not-applicable');
    const all = result.bundle.entry as Entry[];
    const patient = all[0].resource;
    expect(patient.extension).toContainEqual({ url: 'http://hl7.org/fhir/StructureDefinition/patient-religion', valueCodeableConcept: { text: 'Church of England' } });
    const gp = all.find((e) => e.resource.resourceType === 'Practitioner')!;
    const practice = all.find((e) => e.resource.resourceType === 'Organization' && e.resource.identifier[0].value === 'L83002')!;
    expect(patient.generalPractitioner).toEqual([{ reference: practice.fullUrl }, { reference: gp.fullUrl }]);
    expect(gp.resource.identifier).toEqual([{ system: 'https://fhir.hl7.org.uk/Id/gmp-number', value: 'G9999994' }]);
    const related = all.filter((e) => e.resource.resourceType === 'RelatedPerson');
    expect(related).toHaveLength(1);
    expect(related[0].resource.relationship).toEqual([{ text: 'Daughter' }]);
    expect(related[0].resource.telecom).toEqual([{ system: 'phone', value: '07700 900777', use: 'mobile' }]);
    expect(related[0].resource.name).toBeUndefined();
    expect(patient.contact).toEqual([{ relationship: [{ text: 'Daughter' }], telecom: [{ system: 'phone', value: '07700 900777', use: 'mobile' }] }]);
    expect(result.issues.map((i) => i.message)).toEqual(['code "DAU" is not in code map hl7-0063-relationship']);
  });

  it('NK1 contact role (NK1-7) is a RelatedPerson relationship too', () => {
    const related = ofType('vendor-cerner-a08-free-text-authority', 'RelatedPerson')[0].resource;
    expect(related.relationship).toEqual([{ text: 'Wife' }, { text: 'Emergency contact' }]);
  });
});

describe("the hospital's Patient key: scoped to the sending facility, never the bare NHS number", () => {
  // Other sources (the council's CLD mapping) write their own Patient carrying the same NHS
  // number; the hospital's must be upserted on an identifier only the trust writes.
  type Entry = { resource: { resourceType: string; identifier?: { system: string; value: string }[]; active?: boolean }; request: { url: string } };
  const patients = (hl7: string): Entry[] => (mapHl7ToBundle(hl7).bundle.entry as Entry[]).filter((e) => e.resource.resourceType === 'Patient');
  const a40 = readFileSync(join(CASES, 'a40-merge-nhs.hl7'), 'utf8');
  const systems = (e: Entry) => e.resource.identifier?.map((i) => `${i.system}|${i.value}`);

  it('the MRN when PID-3 has one; the NHS number stays on the resource', () => {
    const [patient] = patients(readFileSync(join(CASES, 'a03-discharge.hl7'), 'utf8'));
    expect(patient.request.url).toBe('Patient?identifier=urn:tramline:id:RXX:RXX|RX1001');
    expect(systems(patient)).toEqual(['https://fhir.nhs.uk/Id/nhs-number|9434765919', 'urn:tramline:id:RXX:RXX|RX1001']);
  });

  it('else the NHS number under the facility\'s own system, which the resource then carries too', () => {
    const [patient] = patients(readFileSync(join(CASES, 'a01-latin1.hl7'), 'utf8'));
    expect(patient.request.url).toBe('Patient?identifier=urn:tramline:id:RXX:patient|9990000069');
    expect(systems(patient)).toEqual(['https://fhir.nhs.uk/Id/nhs-number|9990000069', 'urn:tramline:id:RXX:patient|9990000069']);
  });

  it('the merged Patient (MRG-1) alike: its MRN when MRG-1 has one, else the facility-scoped NHS number', () => {
    const [, withMrn] = patients(a40);
    expect(withMrn.request.url).toBe('Patient?identifier=urn:tramline:id:RXX:RXX|RX9013');
    const [survivor, merged] = patients(a40.replace('MRG|9990000050^^^NHS^NH~RX9013^^^RXX^MR|', 'MRG|9990000050^^^NHS^NH|'));
    expect(merged.request.url).toBe('Patient?identifier=urn:tramline:id:RXX:patient|9990000050');
    expect(merged.resource.active).toBe(false);
    expect(systems(merged)).toEqual(['https://fhir.nhs.uk/Id/nhs-number|9990000050', 'urn:tramline:id:RXX:patient|9990000050']);
    expect(survivor.request.url).toBe('Patient?identifier=urn:tramline:id:RXX:RXX|RX1013');
  });
});

describe('case runner', () => {
  it('prints a diff addressed by output path when the output differs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramline-cases-'));
    cpSync(ADT_DIR, dir, { recursive: true });
    const expectedFile = join(dir, 'cases', 'a02-transfer-gmt.expected.json');
    const expected = JSON.parse(readFileSync(expectedFile, 'utf8'));
    expected.entry[0].resource.gender = 'female';
    delete expected.entry[0].resource.birthDate;
    writeFileSync(expectedFile, JSON.stringify(expected));
    const r = runMappingCases(join(dir, 'adt-to-fhir.yaml')).find((x) => x.name === 'a02-transfer-gmt');
    expect(r?.ok).toBe(false);
    expect(r?.problems).toEqual(['entry[0].resource.gender: expected "female", got "male"', 'entry[0].resource.birthDate: unexpected "1952-08-09"']);
    expect(formatCaseResult(r!)).toContain('FAIL  hl7v2-adt-to-fhir › a02-transfer-gmt');
  });
});

describe('JSON mapping cases', () => {
  it('runs <name>.input.json cases, compares output and expected warnings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramline-json-'));
    writeFileSync(
      join(dir, 'person.yaml'),
      `id: test-person
input: json
output:
  resourceType: Patient
  identifier: [{ system: https://fhir.nhs.uk/Id/nhs-number, value: { $path: $.NHS_Number, $fn: nhsNumber, $onInvalid: warn } }]
  birthDate: { $path: $.Date_of_Birth, $fn: hl7Date }
`,
    );
    mkdirSync(join(dir, 'cases'));
    writeFileSync(join(dir, 'cases', 'ok.input.json'), JSON.stringify({ NHS_Number: '999 000 0018', Date_of_Birth: '19800101' }));
    writeFileSync(join(dir, 'cases', 'ok.expected.json'), JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990000018' }], birthDate: '1980-01-01' }));
    writeFileSync(join(dir, 'cases', 'bad-nhs.input.json'), JSON.stringify({ NHS_Number: '9990000019', Date_of_Birth: '19800101' }));
    writeFileSync(join(dir, 'cases', 'bad-nhs.expected.json'), JSON.stringify({ resourceType: 'Patient', birthDate: '1980-01-01' }));
    writeFileSync(join(dir, 'cases', 'bad-nhs.expected-issues.txt'), 'identifier[0].value: NHS number fails the Modulus 11 check\n');
    writeFileSync(join(dir, 'cases', 'bad-date.input.json'), JSON.stringify({ Date_of_Birth: '19801301' }));
    writeFileSync(join(dir, 'cases', 'bad-date.expected-error.txt'), 'birthDate: HL7 date has month 13');
    const results = runMappingCases(dir);
    expect(results.map((r) => [r.name, r.ok, r.problems])).toEqual([
      ['bad-date', true, []],
      ['bad-nhs', true, []],
      ['ok', true, []],
    ]);
  });
});

describe('engine entry point', () => {
  it('finds the shipped mapping by id and maps a message to a validated bundle', () => {
    expect(listMappings().get('hl7v2-adt-to-fhir')).toMatch(/adt-to-fhir\.yaml$/);
    expect(loadMappingById('hl7v2-adt-to-fhir')).toBe(loadMappingById('hl7v2-adt-to-fhir'));
    const text = readFileSync(join(CASES, 'a04-outpatient-nh-status.hl7'), 'utf8');
    const { bundle, issues, header } = mapHl7ToBundle(text);
    expect(header.triggerEvent).toBe('A04');
    expect(issues).toEqual([]);
    expect(bundle.type).toBe('transaction');
    expect(bundle.entry?.[0].request?.url).toBe('Patient?identifier=urn:tramline:id:RXX:RXX|RX1003');
  });

  it('gives typed errors, never stack traces, for bad input', () => {
    expect(() => mapHl7ToBundle('not hl7')).toThrow(expect.objectContaining({ kind: 'ParseError' }));
    expect(() => mapHl7ToBundle(readFileSync(join(CASES, 'error-missing-pid.hl7'), 'utf8'))).toThrow(expect.objectContaining({ kind: 'MappingError' }));
    expect(() => loadMappingById('no-such-mapping')).toThrow('no mapping with id or path "no-such-mapping"');
  });
});
