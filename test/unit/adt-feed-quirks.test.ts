// Degrade, never drop: every shipped ADT case, changed the ways real PAS feeds differ from the
// book (line endings, trailing delimiters, HL7 versions, local codes, odd dates, free-text
// authorities, extra segments, missing optional fields), still maps to a bundle that passes the
// FHIR R4 schema and the UK Core checks. Only a message without any patient identifier or MSH-4
// may fail, and none of these removes both.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { hl7Input } from '../../mappings/engine/hl7-input.js';
import { DEFAULT_ADT_MAPPING, loadMappingById } from '../../mappings/index.js';
import { fhirIssues } from '../../mappings/validate/index.js';

const CASES = 'mappings/hl7v2/cases';
const mapping = loadMappingById(DEFAULT_ADT_MAPPING);

const linesOf = (t: string): string[] => t.split(/\r\n|\r|\n/).filter((l) => l.length > 0);
const joined = (lines: string[]): string => lines.join('\r');

/** Field `n` of the first segment `id` set to `value` (MSH counts MSH-1 as the separator). */
function setField(text: string, id: string, n: number, value: string): string {
  let done = false;
  return joined(
    linesOf(text).map((line) => {
      if (done || !line.startsWith(`${id}|`)) return line;
      done = true;
      const fields = line.split('|');
      const at = id === 'MSH' ? n - 1 : n;
      while (fields.length <= at) fields.push('');
      fields[at] = value;
      return fields.join('|');
    }),
  );
}

const withSegments = (text: string, ...segments: string[]): string => joined([...linesOf(text), ...segments]);
/** A quirk that sets one field. */
const field =
  (id: string, n: number, value: string) =>
  (t: string): string =>
    setField(t, id, n, value);

const QUIRKS: Record<string, (t: string) => string> = {
  'LF line endings': (t) => linesOf(t).join('\n'),
  'CRLF line endings': (t) => linesOf(t).join('\r\n'),
  'trailing field separators': (t) => joined(linesOf(t).map((l) => `${l}|||`)),
  'trailing component separators': (t) => joined(linesOf(t).map((l) => (l.startsWith('MSH') ? l : `${l}^^`))),
  'MSH-9 without the structure': (t) => setField(t, 'MSH', 9, (linesOf(t)[0].split('|')[8] ?? '').split('^').slice(0, 2).join('^')),
  'version 2.3': field('MSH', 12, '2.3'),
  'version 2.5.1': field('MSH', 12, '2.5.1'),
  'MSH-2 with repeated delimiters': (t) => t.replace(/^MSH\|\^~\\&/, 'MSH|^~\\&^~'),
  'MSH-4 as free text': field('MSH', 4, 'ROYAL BLACKPOOL'),
  'no EVN': (t) => joined(linesOf(t).filter((l) => !l.startsWith('EVN'))),
  'no visit number': field('PV1', 19, ''),
  'local patient class': field('PV1', 2, 'DAY CASE'),
  'lower-case patient class': field('PV1', 2, 'i'),
  'admit time with fraction and offset': field('PV1', 44, '20260714093000.123+0100'),
  'admit time not a date': field('PV1', 44, '2026071409300'),
  'discharge time not a date': field('PV1', 45, 'yesterday'),
  'PV1 with only a set id': (t) => joined(linesOf(t).map((l) => (l.startsWith('PV1|') ? 'PV1|1' : l))),
  'location as free text': field('PV1', 3, 'RXX NORTH^BAY 2^BED 3^ROYAL BLACKPOOL HOSPITAL'),
  'attending without an id': field('PV1', 7, '^Darwin^Samuel'),
  'free-text assigning authority': (t) => setField(t, 'PID', 3, "A123456^^^St Mary's PAS^MR~9990000018^^^NHS^NH"),
  'empty identifier repetitions': (t) => setField(t, 'PID', 3, `~${linesOf(t).find((l) => l.startsWith('PID|'))?.split('|')[3] ?? ''}~^^^`),
  'identifiers only in PID-2': (t) => setField(setField(t, 'PID', 3, ''), 'PID', 2, '9990000018^^^NHS^NH'),
  'birth year only': field('PID', 7, '1970'),
  'birth date with time and offset': field('PID', 7, '19700101000000+0100'),
  'birth date not a date': field('PID', 7, '19701340'),
  'NHS Data Dictionary gender code': field('PID', 8, '9'),
  'lower-case gender': field('PID', 8, 'f'),
  'no name': field('PID', 5, ''),
  'escapes in the name': field('PID', 5, 'O\\S\\BRIEN\\T\\CO^MARY\\F\\ANN^^^MS'),
  'address of one line': field('PID', 11, '1 HIGH ST'),
  'e-mail and phone': field('PID', 13, '^NET^Internet^someone@example.org~01253 123456^PRN^PH'),
  'local marital status': field('PID', 16, 'Z^Partnered'),
  'local ethnic category': field('PID', 22, '99^Not known'),
  'death indicator without a date': (t) => setField(setField(t, 'PID', 30, 'Y'), 'PID', 29, ''),
  'multiple birth order not a number': (t) => setField(setField(t, 'PID', 24, 'Y'), 'PID', 25, 'two'),
  'GP practice as free text': field('PD1', 3, 'SOME SURGERY'),
  'Z-segment in the middle': (t) => {
    const l = linesOf(t);
    l.splice(2, 0, 'ZXX|1|junk^^^|\\E\\');
    return joined(l);
  },
  'NK1 with a name only': (t) => withSegments(t, 'NK1|1|JONES^ANN'),
  'NK1 with a phone only': (t) => withSegments(t, 'NK1|2||||01253 999999'),
  'OBX of several value types': (t) => withSegments(t, 'OBX|1|NM|8302-2^Body height^LN||172|cm|||||F', 'OBX|2|ST|WT^Weight^L||about 70kg||||||F', 'OBX|3|TX|||free text note||||||'),
  'AL1, DG1 and PR1 without codes': (t) => withSegments(t, 'AL1|2|DA|^Penicillin', 'DG1|2||^Chest pain', 'PR1|2'),
  'ROL without a person': (t) => withSegments(t, 'ROL|1|AD|PP'),
};

const bases = readdirSync(CASES)
  .filter((f) => f.endsWith('.hl7') && !f.startsWith('error-'))
  .map((f) => ({ name: f, text: readFileSync(join(CASES, f), 'latin1') }));

function mapped(text: string) {
  return mapping.run(hl7Input(parseHl7(text)));
}

type Resource = { resourceType: string } & Record<string, unknown>;
const resourcesOf = (output: unknown): Resource[] => ((output as { entry: { resource: Resource }[] }).entry ?? []).map((e) => e.resource);

describe('real-world feed quirks on every shipped ADT case', () => {
  it('each variant maps to a bundle that passes the FHIR R4 schema and UK Core, as the planned check proves', () => {
    const failures: string[] = [];
    let variants = 0;
    for (const base of bases) {
      for (const [quirk, change] of Object.entries(QUIRKS)) {
        variants++;
        try {
          const result = mapped(change(base.text));
          const problems = fhirIssues(result.output);
          if (problems.length) failures.push(`${base.name} / ${quirk}: ${problems[0]}`);
          // The check planned at load (mappings/validate/plan.ts) proves it too, as the engine relies on.
          else if (!result.fhirR4Checked) failures.push(`${base.name} / ${quirk}: valid, but not proven by the planned check`);
        } catch (e) {
          failures.push(`${base.name} / ${quirk}: ${(e as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(variants).toBeGreaterThan(1000);
  });

  it('an admit time that is not a date is left out with a warning naming PV1-44, and the Encounter stays', () => {
    const text = readFileSync(join(CASES, 'a01-no-visit-number.hl7'), 'latin1');
    const result = mapped(setField(text, 'PV1', 44, '2026071409300'));
    const encounter = resourcesOf(result.output).find((r) => r.resourceType === 'Encounter');
    expect(encounter).toBeDefined();
    expect(encounter?.period).toBeUndefined();
    expect(result.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ severity: 'warning', source: 'PV1-44', target: 'let.admitTime' }),
        // Without PV1-19 or a usable PV1-44 the Encounter is keyed on the message control id.
        expect.objectContaining({ severity: 'warning', message: expect.stringContaining('no admit time (PV1-44)') }),
      ]),
    );
  });

  it('an NHS number only in PID-2 identifies the Patient, keyed under the sending facility', () => {
    const text = readFileSync(join(CASES, 'a03-discharge.hl7'), 'latin1');
    const result = mapped(setField(setField(text, 'PID', 3, ''), 'PID', 2, '9990000018^^^NHS^NH'));
    const patient = resourcesOf(result.output).find((r) => r.resourceType === 'Patient');
    const facility = linesOf(text)[0].split('|')[3];
    expect(patient?.identifier).toEqual([
      expect.objectContaining({ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990000018' }),
      { system: `urn:tramline:id:${facility}:patient`, value: '9990000018' },
    ]);
  });
});
