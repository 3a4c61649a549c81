// The mapping language on small inline mappings: paths, filters, loops, conditions,
// defaults, required values, templates, and the load-time refusal of code in paths.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MappingError } from '../../core/errors.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { loadMapping, checkMappingFile } from '../../mappings/engine/load.js';
import { hl7Input, jsonInput } from '../../mappings/engine/hl7-input.js';

const FILE = '/virtual/test-mapping.yaml';

function json(yamlText: string, data: unknown) {
  return loadMapping(FILE, yamlText).run(jsonInput(data));
}

function loadError(yamlText: string): MappingError {
  try {
    loadMapping(FILE, yamlText);
  } catch (e) {
    expect(e).toBeInstanceOf(MappingError);
    return e as MappingError;
  }
  throw new Error('mapping loaded but should not have');
}

const PERSON = {
  id: 'P1',
  nhs: '943 476 5919',
  sex: 'F',
  names: [
    { type: 'official', family: 'Ellis', given: 'Anna' },
    { type: 'alias', family: 'Nurse', given: 'Annie' },
  ],
  events: [
    { type: 'Service', ref: 'S1', start: '20260101' },
    { type: 'Review', ref: 'R1', start: '20260201' },
    { type: 'Service', ref: 'S2', start: '20260301' },
  ],
};

describe('JSON mappings', () => {
  it('builds objects and arrays from paths, loops, filters, functions and constants', () => {
    const r = json(
      `id: t
input: json
let:
  nhs: { $path: $.nhs, $fn: nhsNumber }
output:
  resourceType: Patient
  identifier:
    - system: https://fhir.nhs.uk/Id/nhs-number
      value: { $var: nhs }
    - system: urn:local
      value: { $path: $.id }
  gender: { $path: $.sex, $fn: { codemap: hl7-0001-gender } }
  name:
    - $forEach: $.names
      $where: { type: official }
      $do: { family: { $path: "@.family" }, given: [{ $path: "@.given" }] }
  services:
    - $forEach: $.events[*]
      $where: { type: Service }
      $as: ev
      $do: { ref: { $path: "@.ref" }, start: { $path: "@.start", $fn: hl7Date } }
  active: { $const: true }
`,
      PERSON,
    );
    expect(r.issues).toEqual([]);
    expect(r.output).toEqual({
      resourceType: 'Patient',
      identifier: [
        { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' },
        { system: 'urn:local', value: 'P1' },
      ],
      gender: 'female',
      name: [{ family: 'Ellis', given: ['Anna'] }],
      services: [
        { ref: 'S1', start: '2026-01-01' },
        { ref: 'S2', start: '2026-03-01' },
      ],
      active: true,
    });
  });

  it('leaves out empty values, and objects whose dynamic fields are all empty', () => {
    const r = json(
      `id: t
input: json
output:
  identifier:
    - { system: urn:a, value: { $path: $.missing } }
    - { system: urn:b, value: { $path: $.id } }
  note: { $path: $.nothing }
  empty: []
`,
      PERSON,
    );
    expect(r.output).toEqual({ identifier: [{ system: 'urn:b', value: 'P1' }] });
  });

  it('applies $when, $default, $first, $template, $list and $distinctBy', () => {
    const r = json(
      `id: t
input: json
let:
  id: { $path: $.id }
  key: { $template: "person|\${id}" }
output:
  a: { $const: yes, $when: { $path: $.sex, $eq: F } }
  b: { $const: no, $when: { $path: $.sex, $in: [M, U] } }
  c: { $path: $.missing, $default: fallback }
  d: { $first: [{ $path: $.missing }, { $path: $.id }] }
  e: { $list: [{ $path: $.id }, { $path: $.sex }], $fn: { join: "-" } }
  f: { $var: key }
  i: { $template: "\${id}/\${$.sex}" }
  g:
    $items:
      - { k: 1, v: { $path: $.id } }
      - { k: 1, v: { $path: $.sex } }
      - { k: 2, v: { $path: $.sex } }
    $distinctBy: k
  h: { $const: both, $when: { $and: [{ $path: $.id }, { $not: { $path: $.missing } }] } }
`,
      PERSON,
    );
    expect(r.output).toEqual({ a: 'yes', c: 'fallback', d: 'P1', e: 'P1-F', f: 'person|P1', i: 'P1/F', g: [{ k: 1, v: 'P1' }, { k: 2, v: 'F' }], h: 'both' });
  });

  it('gives each run its own template text (a template reuses its last text only for equal values)', () => {
    const m = loadMapping(FILE, 'id: t\ninput: json\noutput:\n  k: { $template: "${$.a}|${$.b}" }\n');
    const run = (data: unknown): unknown => m.run(jsonInput(data)).output;
    expect(run({ a: 'x', b: 'y' })).toEqual({ k: 'x|y' });
    expect(run({ a: 'x', b: 'z' })).toEqual({ k: 'x|z' });
    expect(run({ a: 'w', b: 'z' })).toEqual({ k: 'w|z' });
    expect(run({ a: 'w' })).toEqual(undefined);
    expect(run({ a: 'x', b: 'y' })).toEqual({ k: 'x|y' });
    expect(run({ a: 'x', b: 'y' })).toEqual({ k: 'x|y' });
  });

  it('reports a missing required value with file, line and target path', () => {
    const m = loadMapping(
      FILE,
      `id: t
input: json
output:
  resourceType: Patient
  birthDate:
    $path: $.dob
    $required: true
`,
    );
    let err: unknown;
    try {
      m.run(jsonInput(PERSON));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MappingError);
    const me = err as MappingError;
    expect(me.file).toBe(FILE);
    expect(me.line).toBe(6);
    expect(me.target).toBe('birthDate');
    expect(me.message).toBe(`${FILE}:6: required value missing: $.dob → Patient.birthDate`);
  });

  it('turns an invalid value into an error, or a warning with $onInvalid: warn', () => {
    const text = (mode: string) => `id: t
input: json
output:
  value: { $path: $.bad, $fn: nhsNumber, $onInvalid: ${mode} }
`;
    const warned = json(text('warn'), { bad: '9434765918' });
    expect(warned.output).toBeUndefined();
    expect(warned.issues).toEqual([{ severity: 'warning', message: 'NHS number fails the Modulus 11 check', file: FILE, line: 4, target: 'value', source: '$.bad' }]);
    expect(() => json(text('error'), { bad: '9434765918' })).toThrow(`${FILE}:4: $.bad → value: NHS number fails the Modulus 11 check`);
  });

  it('adds a $warn warning only when that value is used: a fallback in $first, not the value before it', () => {
    const text = `id: t
input: json
output:
  key:
    $first:
      - { $path: $.visit }
      - { $path: $.admitted, $warn: no visit number; keyed on the admit time }
`;
    expect(json(text, { visit: 'V1', admitted: '2026' })).toEqual({ output: { key: 'V1' }, issues: [] });
    expect(json(text, { admitted: '2026' }).issues).toEqual([
      { severity: 'warning', message: 'no visit number; keyed on the admit time', file: FILE, line: 7, target: 'key.$first[1]', source: '$.admitted' },
    ]);
    expect(json(text, {})).toEqual({ output: undefined, issues: [] });
    expect(loadError('id: t\ninput: json\noutput:\n  a: { $path: $.a, $warn: "" }\n').message).toMatch(/warn/);
  });

  it('computes let values when first read; a $required one is always checked', () => {
    const text = `id: t
input: json
let:
  unused: { $path: $.bad, $fn: nhsNumber, $onInvalid: warn }
  used: { $path: $.bad, $fn: nhsNumber, $onInvalid: warn }
  mustHave: { $path: $.id, $required: true }
output:
  a: { $var: used }
  b: { $var: used }
`;
    const r = json(text, { bad: '123', id: 'x' });
    expect(r.issues.map((i) => i.target)).toEqual(['let.used']);
    expect(() => json(text, { bad: '123' })).toThrow(`${FILE}:6: required value missing: $.id → let.mustHave`);
  });

  it('never shares objects between outputs (constants, code map codings)', () => {
    const m = loadMapping(FILE, 'id: t\ninput: json\noutput:\n  c: { $const: { a: [1] } }\n  e: { $path: $.e, $fn: { codemap: ethnic-category } }\n');
    const first = m.run(jsonInput({ e: 'A' })).output as { c: { a: number[] }; e: { code: string } };
    first.c.a.push(2);
    first.e.code = 'changed';
    expect(m.run(jsonInput({ e: 'A' })).output).toEqual({
      c: { a: [1] },
      e: { system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland', code: 'A', display: 'White - British' },
    });
  });

  it('includes named templates with $use and per-item $let', () => {
    const r = json(
      `id: t
input: json
templates:
  named: { text: { $template: "\${label} \${@.family}" } }
output:
  names:
    - $forEach: $.names
      $let: { label: { $path: "@.type", $fn: upper } }
      $do: { $use: named }
  first: { $use: named, $with: "$.names[0]", $let: { label: { $const: FIRST } } }
`,
      PERSON,
    );
    expect(r.output).toEqual({ names: [{ text: 'OFFICIAL Ellis' }, { text: 'ALIAS Nurse' }], first: { text: 'FIRST Ellis' } });
  });
});

describe('load-time checks', () => {
  it.each([
    ['$..[?(@.constructor)]', 'script or filter expression'],
    ['$.a[?(@.x == 1)]', 'script or filter expression'],
    ['$.a[(@.length-1)]', 'script or filter expression'],
    ['$..process', 'reaches "process"'],
    ['$.constructor.constructor', 'reaches "constructor"'],
    ["$['__proto__']", 'reaches "__proto__"'],
    ['$.a`b', 'not allowed in a path'],
  ])('refuses the JSONPath %s before running anything', (path, why) => {
    const err = loadError(`id: t
input: json
output:
  x: { $path: "${path}" }
`);
    expect(err.message).toContain(why);
    expect(err.line).toBe(4);
    expect(err.target).toBe('x');
  });

  it('refuses prototype keys in the output', () => {
    const err = loadError(`id: t
input: json
output:
  constructor: 1
`);
    expect(err.message).toContain('constructor');
  });

  it('keeps output keys as data: a key written like code is only a key', () => {
    // Object builders are generated per node shape; keys reach them as string literals only.
    const keys = ['a"] = 1; globalThis.pwned = true; //', "b'); globalThis.pwned = true; ('", 'c\\u2028d', '`${globalThis.pwned = true}`'];
    const yamlText = `id: t\ninput: json\noutput:\n${keys.map((k, i) => `  ${JSON.stringify(k)}: { $path: $.v${i} }`).join('\n')}\n`;
    const r = json(yamlText, { v0: 'x', v1: 'y', v2: 'z', v3: 'w' });
    expect(r.output).toEqual({ [keys[0]]: 'x', [keys[1]]: 'y', [keys[2]]: 'z', [keys[3]]: 'w' });
    expect((globalThis as { pwned?: boolean }).pwned).toBeUndefined();
  });

  it('copies $const values as JSON would, keys written like code staying keys', () => {
    // Constants are copied by generated object literals; keys reach them as string literals only.
    const keys = ['a"]: 1, x: globalThis.pwned = true, ["', "b'); globalThis.pwned = true; ('", '`${globalThis.pwned = true}`', '01', '__proto__'];
    const value = Object.fromEntries(keys.map((k, i) => [k, i % 2 ? [i, { n: null, t: true }] : `v${i}`]));
    const yamlText = `id: t\ninput: json\noutput:\n  c: { $const: ${JSON.stringify(value)} }\n  d: { $const: [1.5, -2, "x", [], {}] }\n`;
    const m = loadMapping(FILE, yamlText);
    const first = m.run(jsonInput({})).output as { c: Record<string, unknown>; d: unknown[] };
    // As JSON.parse of the constant's text gives it: `__proto__` an own key, not the prototype.
    expect(first.c).toEqual(JSON.parse(JSON.stringify(value)));
    expect(Object.keys(first.c)).toEqual(Object.keys(JSON.parse(JSON.stringify(value)) as object));
    expect(Object.getPrototypeOf(first.c)).toBe(Object.prototype);
    expect(first.d).toEqual([1.5, -2, 'x', [], {}]);
    expect((globalThis as { pwned?: boolean }).pwned).toBeUndefined();
    // Each run gets its own objects, nested ones included.
    const second = m.run(jsonInput({})).output as { c: Record<string, unknown[]>; d: unknown[] };
    expect(second.c[keys[1]]).not.toBe(first.c[keys[1]]);
    expect(second.c[keys[1]][1]).not.toBe((first.c[keys[1]] as unknown[])[1]);
    expect(second.d[3]).not.toBe(first.d[3]);
  });

  it('names the line of unknown keys, functions, names, code maps and templates', () => {
    expect(loadError('id: t\ninput: json\noutput:\n  a: { $pathh: $.x }\n').message).toContain(':4: a: key "$pathh" is not allowed');
    expect(loadError('id: t\ninput: json\noutput:\n  a: { $path: $.x, $fn: nope }\n').message).toContain(':4: a: unknown function "nope"');
    expect(loadError('id: t\ninput: json\noutput:\n  a: { $var: nope }\n').message).toContain(':4: a: unknown name "nope"');
    expect(loadError('id: t\ninput: json\noutput:\n  a:\n    b: { $path: $.x, $fn: { codemap: nope } }\n').message).toContain(':5: a.b: unknown code map "nope" (no mappings/codemaps/nope.yaml)');
    expect(loadError('id: t\ninput: json\noutput:\n  a: { $use: nope }\n').message).toContain('unknown template "nope"');
    expect(loadError('id: t\ninput: json\noutput:\n  a: { $path: PID-3 }\n').message).toContain('must start with $');
    expect(loadError('id: t\ninput: hl7v2\noutput:\n  a: { $path: "PID-3(CX.5)" }\n').message).toContain('filter "CX.5" must look like CX.5=NH');
    expect(loadError('id: t\ninput: hl7v2\noutput:\n  a: { $path: "@.1" }\n').message).toContain('only meaningful inside $forEach');
  });

  it('refuses YAML alias bombs with a MappingError', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const err = loadError(`id: t\ninput: json\nlet:\n  ${levels.join('\n  ')}\noutput: { x: 1 }\n`);
    expect(err.message).toContain('YAML');
  });

  it('lists problems for tramline validate without throwing', () => {
    expect(checkMappingFile(FILE, 'id: t\ninput: json\noutput: { a: 1 }\n')).toEqual([]);
    expect(checkMappingFile(FILE, 'id: t\ninput: json\noutput:\n  a: { $var: nope }\n')).toEqual([
      { file: FILE, line: 4, target: 'a', message: 'unknown name "nope" (define it under let:, or with $as)' },
    ]);
    const problems = checkMappingFile(FILE, 'id: T!\ninput: xml\noutput: 1\n');
    expect(problems.map((p) => [p.line, p.target])).toEqual([
      [1, 'id'],
      [2, 'input'],
    ]);
  });
});

describe('HL7 v2 mappings', () => {
  const MSG = [
    'MSH|^~\\&|PAS|RXX|TL|LA|20260714093512||ADT^A01^ADT_A01|C1|P|2.4',
    'PID|1||RX1^^^RXX^MR~9434765919^^^NHS^NH||ELLIS^ANNA~NURSE^ANNIE||19780312|F',
    'NK1|1|ELLIS^MARK|SPO',
    'NK1|2|ELLIS^RUBY|CHD',
    'ZU1|anything|goes\\F\\here',
  ].join('\r');

  it('reads field notation with repetitions, filters, segment loops and MSH values', () => {
    const m = loadMapping(
      FILE,
      `id: t
input: hl7v2
output:
  nhs: { $path: "PID-3(CX.5=NH).1" }
  notNhs: { $path: "PID-3(CX.5!=NH).1" }
  second: { $path: "PID-5[2].2" }
  secondKin: { $path: "NK1[2]-2.2" }
  allFamilies: { $path: PID-5.1, $many: true }
  event: { $var: event }
  sender: { $path: MSH-4 }
  kin:
    - $forEach: NK1
      $do: { name: { $path: NK1-2.2 }, rel: { $path: "@-3" } }
  names:
    - $forEach: PID-5
      $do: { $path: "@", $fn: hl7Name }
  viaWhere: { $path: PID-3, $where: { CX.4: NHS }, $fn: { hl7Component: 1 } }
  z: { $path: ZU1-2 }
`,
    );
    const r = m.run(hl7Input(parseHl7(MSG)));
    expect(r.output).toEqual({
      nhs: '9434765919',
      notNhs: 'RX1',
      second: 'ANNIE',
      secondKin: 'RUBY',
      allFamilies: ['ELLIS', 'NURSE'],
      event: 'A01',
      sender: 'RXX',
      kin: [
        { name: 'MARK', rel: 'SPO' },
        { name: 'RUBY', rel: 'CHD' },
      ],
      names: [{ family: 'ELLIS', given: ['ANNA'] }, { family: 'NURSE', given: ['ANNIE'] }],
      viaWhere: '9434765919',
      z: 'goes|here',
    });
  });

  it('refuses JSON input for an HL7 mapping with a clear error', () => {
    const m = loadMapping(FILE, 'id: t\ninput: hl7v2\noutput: { a: 1 }\n');
    expect(() => m.run(jsonInput({}))).toThrow('reads hl7v2 input, not json');
  });
});

describe('run-time errors name the input field and the mapping line', () => {
  function failure(run: () => unknown): MappingError {
    try {
      run();
    } catch (e) {
      expect(e).toBeInstanceOf(MappingError);
      return e as MappingError;
    }
    throw new Error('the mapping succeeded but should have failed');
  }

  it('names the HL7 fields a missing $var was read from, and the FHIR element it was for', () => {
    const m = loadMapping(
      FILE,
      `id: t
input: hl7v2
let:
  visitNumber: { $first: [{ $path: PV1-19.1 }, { $path: PV1-50.1 }] }
output:
  resourceType: Bundle
  entry:
    - resource:
        resourceType: Encounter
        identifier:
          - value: { $var: visitNumber, $required: true }
`,
    );
    const msg = (pv1: string) => parseHl7(`MSH|^~\\&|PAS|RXX|TL|LA|20260714093512||ADT^A01^ADT_A01|C1|P|2.4\r${pv1}`);
    expect(m.run(hl7Input(msg(`PV1|1|I${'|'.repeat(17)}V1`))).output).toEqual({ resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Encounter', identifier: [{ value: 'V1' }] } }] });
    const e = failure(() => m.run(hl7Input(msg(`PV1|1|I${'|'.repeat(16)}V1`))));
    expect(e.message).toBe(`${FILE}:11: required value missing: PV1-19.1 or PV1-50.1 (visitNumber) → Encounter.identifier[0].value at entry[0]`);
    expect([e.file, e.line, e.target]).toEqual([FILE, 11, 'entry[0].resource.identifier[0].value']);
  });

  it('names loop items by their loop: @-3 of NK1 is NK1-3, @.1 of PID-5 is PID-5.1, an MSH name its field', () => {
    const m = loadMapping(
      FILE,
      `id: t
input: hl7v2
output:
  kin:
    - $forEach: NK1
      $do: { rel: { $path: "@-3", $fn: { codemap: hl7-0004-encounter-class } } }
  names:
    - $forEach: PID-5
      $do: { family: { $path: "@.1", $required: true } }
  sender: { $var: sendingFacility, $fn: { codemap: hl7-0004-encounter-class } }
  doctors:
    - $forEach: [PV1-7, PV1-8]
      $do: { id: { $path: "@.1", $required: true } }
`,
    );
    const msg = (segments: string[]) => hl7Input(parseHl7(['MSH|^~\\&|PAS|RXX|TL|LA|20260714093512||ADT^A01^ADT_A01|C1|P|2.4', ...segments].join('\r')));
    expect(failure(() => m.run(msg(['NK1|1|ELLIS^MARK|QQQ']))).message).toMatch(/^\/virtual\/test-mapping\.yaml:6: NK1-3 → kin\[0\]\[\*\]\.rel: code "QQQ" is not in code map/);
    expect(failure(() => m.run(msg(['PID|1||RX1||ELLIS^ANNA~^ANNIE']))).message).toBe(`${FILE}:9: required value missing: PID-5.1 → names[0][*].family`);
    expect(failure(() => m.run(msg(['PV1|1|I|||||^DOCTOR']))).message).toBe(`${FILE}:10: MSH-4 (sendingFacility) → sender: code "RXX" is not in code map hl7-0004-encounter-class`);
    const noSender = (segments: string[]) => hl7Input(parseHl7(['MSH|^~\\&|PAS||TL|LA|20260714093512||ADT^A01^ADT_A01|C1|P|2.4', ...segments].join('\r')));
    expect(failure(() => m.run(noSender(['PV1|1|I|||||^DOCTOR']))).message).toBe(`${FILE}:13: required value missing: PV1-7.1 or PV1-8.1 → doctors[0][*].id`);
  });

  it('names the JSONPath of a JSON input, also inside a loop', () => {
    const m = loadMapping(
      FILE,
      `id: t
input: json
output:
  resourceType: Bundle
  entry:
    - $forEach: $.events
      $do:
        resource:
          resourceType: EpisodeOfCare
          identifier: [{ value: { $path: "@.ref", $required: true } }]
`,
    );
    const e = failure(() => m.run(jsonInput({ events: [{ ref: 'S1' }, { type: 'Service' }] })));
    expect(e.message).toBe(`${FILE}:10: required value missing: $.events[*].ref → EpisodeOfCare.identifier[0].value at entry[0][*]`);
  });

  it('names shipped mappings by their path in the repository, never the server folder', () => {
    const e = failure(() => loadMapping(join(process.cwd(), 'mappings/hl7v2/adt-to-fhir.yaml')).run(hl7Input(parseHl7(readFileSync('mappings/hl7v2/cases/error-no-identifier.hl7', 'utf8')))));
    expect(e.message).toMatch(/^mappings\/hl7v2\/adt-to-fhir\.yaml:\d+: required value missing: PID-3 or PID-2 or PID-3\.1 or PID-2\.1 → let\.patientIdValue/);
    expect(e.file).toBe(join(process.cwd(), 'mappings/hl7v2/adt-to-fhir.yaml'));
    const bad = join(mkdtempSync(join(tmpdir(), 'tramline-map-')), 'bad.yaml');
    writeFileSync(bad, 'id: t\ninput: json\noutput: { a: { $path: nope } }\n');
    expect(() => loadMapping(bad)).toThrow(`${bad}:3: a: JSONPath "nope" must start with $`);
  });
});

describe('what a mapping writes', () => {
  it('lists the constant resourceTypes of its output, so their validators compile at load', () => {
    const m = loadMapping(
      FILE,
      `id: t
input: json
output:
  resourceType: Bundle
  type: collection
  entry:
    - resource: { resourceType: Patient, id: { $path: $.id } }
    - $forEach: $.events
      $do: { resource: { resourceType: EpisodeOfCare, id: { $path: "@.ref" } } }
    - resource: { resourceType: { $path: $.kind } }
`,
    );
    expect([...m.resourceTypes].sort()).toEqual(['Bundle', 'EpisodeOfCare', 'Patient']);
  });
});
