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
