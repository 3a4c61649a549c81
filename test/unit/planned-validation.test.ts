// The FHIR R4 schema check planned when a mapping loads (mappings/validate/plan.ts) stands in
// for the check of the whole output, so it must never pass what that check refuses, and it
// should pass what that check passes (else the engine checks every message twice).
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../../core/errors.js';
import { loadMapping } from '../../mappings/engine/load.js';
import { jsonInput } from '../../mappings/engine/hl7-input.js';
import { readCaseInput } from '../../mappings/engine/cases.js';
import { DEFAULT_ADT_MAPPING, loadMappingById, runMapping } from '../../mappings/index.js';
import { fhirIssues } from '../../mappings/validate/index.js';
import { checkResourceSchema, compiledResourceValidator, fhirDefinitions } from '../../mappings/validate/fhir-schema.js';
import { fhirR4Planner } from '../../mappings/validate/plan.js';
import type { CompiledMapping } from '../../mappings/engine/types.js';

/** Every Reference.reference inside a bundle's resources, as the whole check collects them. */
function collectedReferences(bundle: unknown): string[] {
  const references: string[] = [];
  const entries = (bundle as { entry?: { resource?: unknown }[] }).entry ?? [];
  entries.forEach((e, i) => checkResourceSchema(e.resource, i, [], undefined, references));
  return [...new Set(references)].sort();
}

/** The shipped cases whose output is a bundle (not those expecting an error). */
function shippedCases(mapping: CompiledMapping): { name: string; file: string }[] {
  const suffix = mapping.input === 'hl7v2' ? '.hl7' : '.input.json';
  return readdirSync(mapping.casesDir)
    .filter((f) => f.endsWith(suffix) && !existsSync(join(mapping.casesDir, `${f.slice(0, -suffix.length)}.expected-error.txt`)))
    .map((f) => ({ name: f, file: join(mapping.casesDir, f) }));
}

describe('the FHIR R4 check planned at load', () => {
  it('checks every primitive as the schema validators do, on awkward values', () => {
    const primitives = Object.entries(fhirDefinitions()).filter(([, d]) => d.properties === undefined && d.oneOf === undefined && d.type !== undefined);
    expect(primitives.length).toBeGreaterThan(15);
    const values: unknown[] = ['', ' ', 'a', 'a b', 'a  b', ' a', 'a\u00a0b', 'a\u000bb', 'a\tb', 'a\r\nb', '\u2028', 'ÿ', '2026-12-08', '2026-12-08T01:02:03Z', '2026-13-01', '10', '-1', '1.5', '1e3', 'true', 'urn:uuid:2d7ab5d4-6b6e-4d8f-9a53-0c3b1d2a4e10', 'x'.repeat(70), 0, -1, 1.5, 10, Number.NaN, Number.POSITIVE_INFINITY, true, false, null, [], {}, ['a']];
    for (const [name] of primitives) {
      const planned = fhirR4Planner.checkAt({ position: { $ref: `#/definitions/${name}` }, inResource: true });
      const ajv = compiledResourceValidator(name);
      if (!ajv) throw new Error(`no validator for ${name}`);
      for (const v of values) expect({ name, v, planned: planned(v, []) }).toEqual({ name, v, planned: ajv(v) === true });
    }
  });

  it.each([DEFAULT_ADT_MAPPING, 'social-care-cld-to-fhir'])('proves every shipped case of %s, with the references the whole check collects', (id) => {
    const mapping = loadMappingById(id);
    const cases = shippedCases(mapping);
    expect(cases.length).toBeGreaterThan(mapping.input === 'hl7v2' ? 30 : 5);
    for (const c of cases) {
      const result = mapping.run(readCaseInput(mapping, c.file));
      expect({ case: c.name, issues: fhirIssues(result.output, ['fhir-r4']) }).toEqual({ case: c.name, issues: [] });
      expect({ case: c.name, proven: result.fhirR4Checked !== undefined }).toEqual({ case: c.name, proven: true });
      expect([...new Set(result.fhirR4Checked?.references)].sort()).toEqual(collectedReferences(result.output));
    }
  });

  const FILE = '/virtual/planned-check.yaml';
  /** A JSON mapping writing one Bundle entry whose resource is `resource` (YAML, indented to fit). */
  const mappingOf = (resource: string, extra = ''): CompiledMapping =>
    loadMapping(
      FILE,
      `id: planned-check
input: json
validate: [fhir-r4]
${extra}output:
  resourceType: Bundle
  type: transaction
  entry:
    - fullUrl: urn:uuid:2d7ab5d4-6b6e-4d8f-9a53-0c3b1d2a4e10
      request: { method: PUT, url: "Patient?identifier=urn:x|1" }
      resource:
${resource.replace(/^/gm, '        ')}
`,
    );
  const DATA = { id: 'P1', text: 'Ada', gender: 'female', born: '1990-02-03', bad: 'a\u000bb', list: ['x'], object: { family: 'Lovelace' }, objects: [{ family: 'Lovelace' }] };

  it('proves a valid output whose values are read from the input', () => {
    const m = mappingOf(`resourceType: Patient
identifier: [{ system: "urn:x", value: { $path: $.id } }]
name: [{ given: [{ $path: $.text }], family: { $path: $.object.family } }]
gender: { $path: $.gender }
birthDate: { $path: $.born }
generalPractitioner: [{ reference: { $template: "Organization/\${$.id}" } }]`);
    const result = m.run(jsonInput(DATA));
    expect(fhirIssues(result.output, ['fhir-r4'])).toEqual([]);
    expect(result.fhirR4Checked?.references).toEqual(['Organization/P1']);
  });

  it('plans a mapping whose output is one resource, not a Bundle', () => {
    const m = loadMapping(FILE, 'id: one-resource\ninput: json\nvalidate: [fhir-r4]\noutput:\n  resourceType: Patient\n  gender: { $path: $.gender }\n  birthDate: { $path: $.text }\n');
    const valid = m.run(jsonInput({ gender: 'female', text: '1990-02-03' }));
    expect(valid.fhirR4Checked).toBeDefined();
    expect(fhirIssues(valid.output, ['fhir-r4'])).toEqual([]);
    const invalid = m.run(jsonInput({ gender: 'female', text: 'not a date' }));
    expect(invalid.fhirR4Checked).toBeUndefined();
    expect(fhirIssues(invalid.output, ['fhir-r4'])).toEqual(['Patient/birthDate: must match pattern "^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$"']);
  });

  it('plans nothing for a mapping whose output check is not the FHIR R4 schema', () => {
    const m = loadMapping(FILE, 'id: unchecked\ninput: json\noutput:\n  resourceType: Patient\n  gender: { $path: $.gender }\n');
    expect(m.run(jsonInput({ gender: 'female' })).fhirR4Checked).toBeUndefined();
  });

  // Each output the whole check refuses, written a different way; none may be proven, and the
  // engine's check (runMapping) reports the whole check's issues.
  const REFUSED: Record<string, [string, string?]> = {
    'a value failing its primitive pattern': ['resourceType: Patient\nname: [{ family: { $path: $.bad } }]'],
    'a value outside its code list': ['resourceType: Patient\ngender: { $path: $.text }'],
    'a value of the wrong primitive type': ['resourceType: Patient\nactive: { $path: $.text }'],
    'a constant outside its code list': ['resourceType: Patient\ngender: unknown-to-fhir'],
    'a $const object of the wrong shape': ['resourceType: Patient\nmaritalStatus: { $const: { text: 1 } }'],
    'a key the resource does not have': ['resourceType: Patient\nnickname: { $path: $.text }'],
    'a key a datatype does not have': ['resourceType: Patient\nname: [{ nick: { $path: $.text } }]'],
    'a list where one value belongs': ['resourceType: Patient\ngender: [{ $path: $.gender }]'],
    'one value where a list belongs': ['resourceType: Patient\nidentifier: { $path: $.id }'],
    'a loop where one value belongs': ['resourceType: Patient\nbirthDate: { $forEach: $.list, $do: { $path: "@" } }'],
    'a read object of the wrong shape': ['resourceType: Patient\nidentifier: [{ $path: $.object }]'],
    'a read list of the wrong items': ['resourceType: Patient\nidentifier: { $path: "$.objects[*]", $many: true }'],
    'a let of the wrong shape': ['resourceType: Patient\nidentifier: [{ $var: person }]', 'let:\n  person: { $path: $.object }\n'],
    'a required element left empty': ['resourceType: AllergyIntolerance\ncode: { text: { $path: $.text } }\npatient: { reference: { $path: $.missing } }'],
    'a required element not written': ['resourceType: AllergyIntolerance\ncode: { text: { $path: $.text } }'],
    'a resource type that does not exist': ['resourceType: Patientish\nid: { $path: $.id }'],
    'a template used where a datatype does not fit': ['resourceType: Patient\nname: [{ $use: coding }]', 'templates:\n  coding: { system: "urn:x", code: { $path: $.id } }\n'],
  };

  it.each(Object.entries(REFUSED))('does not prove %s', (_name, [resource, extra]) => {
    const m = mappingOf(resource, extra);
    const result = m.run(jsonInput(DATA));
    const issues = fhirIssues(result.output, ['fhir-r4']);
    expect(issues.length).toBeGreaterThan(0);
    expect(result.fhirR4Checked).toBeUndefined();
    let thrown: unknown;
    try {
      runMapping(m, jsonInput(DATA));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).issues).toEqual(issues);
  });
});
