// Two forms of the mapping language: `$upsert` on a bundle entry (its fullUrl and conditional
// request from the identifier the resource is keyed on) and conditions written as values.
// What they write, and the load errors (file:line) for malformed ones.
import { describe, expect, it } from '@jest/globals';
import { MappingError } from '../../core/errors.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { loadMapping } from '../../mappings/engine/load.js';
import { hl7Input, jsonInput } from '../../mappings/engine/hl7-input.js';
import { deterministicUuid } from '../../mappings/functions/ids.js';

const FILE = '/virtual/upsert-mapping.yaml';

function run(yamlText: string, data: unknown) {
  return loadMapping(FILE, yamlText).run(jsonInput(data)).output as Record<string, unknown>;
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

const urn = (type: string, key: string) => `urn:uuid:${deterministicUuid(type, key)}`;

const ENTRIES = `id: t
input: json
let:
  kind: { $path: $.kind }
  system: { $template: "https://fhir.example.org/Id/\${kind}" }
  ref: { $path: $.ref }
  # The same urn, computed for a reference to the entry.
  eventUrl: { $template: "\${system}|\${ref}", $fn: { urnUuid: EpisodeOfCare } }
output:
  entry:
    - $upsert: { system: { $var: system }, value: { $var: ref } }
      resource:
        resourceType: EpisodeOfCare
        identifier: [{ system: { $var: system }, value: { $var: ref } }]
    - $upsert: { type: Patient, system: https://fhir.example.org/Id/person, value: { $path: $.person }, ifExists: keep }
      resource:
        resourceType: Patient
        identifier: [{ system: https://fhir.example.org/Id/person, value: { $path: $.person } }]
    - resource: { resourceType: Encounter, episodeOfCare: [{ reference: { $var: eventUrl } }] }
`;

describe('$upsert', () => {
  it('writes fullUrl first and request last: PUT on the identifier search, the urn that urnUuid gives', () => {
    const out = run(ENTRIES, { kind: 'service', ref: 'S1', person: 'P1' });
    const [episode, patient, encounter] = out.entry as Record<string, unknown>[];
    const system = 'https://fhir.example.org/Id/service';
    expect(Object.keys(episode)).toEqual(['fullUrl', 'resource', 'request']);
    expect(episode.fullUrl).toBe(urn('EpisodeOfCare', `${system}|S1`));
    expect(episode.request).toEqual({ method: 'PUT', url: `EpisodeOfCare?identifier=${system}|S1` });
    // A let computing the urn with urnUuid refers to the same entry.
    expect(encounter.resource).toEqual({ resourceType: 'Encounter', episodeOfCare: [{ reference: episode.fullUrl }] });
    // ifExists: keep creates the resource only if none has the identifier.
    expect(patient.fullUrl).toBe(urn('Patient', 'https://fhir.example.org/Id/person|P1'));
    expect(patient.request).toEqual({ method: 'POST', url: 'Patient', ifNoneExist: 'identifier=https://fhir.example.org/Id/person|P1' });
  });

  it('escapes the identifier as identifierSearch does, so it matches only itself', () => {
    const out = run(ENTRIES, { kind: 'service', ref: 'A&E,3|B', person: 'P 1' });
    const [episode, patient] = out.entry as Record<string, unknown>[];
    expect(episode.fullUrl).toBe(urn('EpisodeOfCare', 'https://fhir.example.org/Id/service|A&E,3|B'));
    expect(episode.request).toEqual({ method: 'PUT', url: 'EpisodeOfCare?identifier=https://fhir.example.org/Id/service|A%26E%5C%2C3%5C%7CB' });
    expect((patient.request as Record<string, unknown>).ifNoneExist).toBe('identifier=https://fhir.example.org/Id/person|P%201');
  });

  it('writes neither fullUrl nor request when the system or the value is missing', () => {
    // No kind (so no system) and no person: the Patient entry has nothing dynamic left and goes.
    const out = run(ENTRIES, { ref: 'S1' });
    expect(out.entry).toEqual([{ resource: { resourceType: 'EpisodeOfCare', identifier: [{ value: 'S1' }] } }]);
  });

  it('gives each entry of a loop its own key and a fresh request object', () => {
    const out = run(
      `id: t
input: json
output:
  entry:
    - $forEach: $.refs
      $do:
        $upsert: { system: urn:x:ref, value: { $path: "@" } }
        resource: { resourceType: Location, name: { $path: "@" } }
`,
      { refs: ['W1', 'W2', 'W1'] },
    );
    const entries = out.entry as { fullUrl: string; request: { url: string } }[];
    expect(entries.map((e) => e.request.url)).toEqual(['Location?identifier=urn:x:ref|W1', 'Location?identifier=urn:x:ref|W2', 'Location?identifier=urn:x:ref|W1']);
    expect(entries[0].fullUrl).toBe(entries[2].fullUrl);
    expect(entries[0].fullUrl).not.toBe(entries[1].fullUrl);
    expect(entries[0].request).not.toBe(entries[2].request);
  });

  it('reads HL7 fields: a repetition stands for its first component', () => {
    const m = loadMapping(
      FILE,
      `id: t
input: hl7v2
output:
  $upsert: { system: urn:x:mrn, value: { $path: PID-3 } }
  resource: { resourceType: Patient }
`,
    );
    const out = m.run(hl7Input(parseHl7('MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.4\rPID|1||RX1^^^RXX^MR')));
    expect(out.output).toEqual({
      fullUrl: urn('Patient', 'urn:x:mrn|RX1'),
      resource: { resourceType: 'Patient' },
      request: { method: 'PUT', url: 'Patient?identifier=urn:x:mrn|RX1' },
    });
  });

  it.each([
    ['an unknown key', '$upsert: { system: urn:x, value: v, sytem: urn:y }', 5, 'unknown key "sytem"'],
    ['a missing value', '$upsert: { system: urn:x }', 5, "must have required property 'value'"],
    ['a missing system', '$upsert: { value: v }', 5, "must have required property 'system'"],
    ['a type that is not the resource\'s', '$upsert: { type: Patient, system: urn:x, value: v }', 5, 'type Patient does not match resource.resourceType Location'],
    ['an unknown ifExists', '$upsert: { system: urn:x, value: v, ifExists: replace }', 5, 'must be equal to one of the allowed values'],
  ])('refuses %s at load, naming file and line', (_what, line, at, message) => {
    const err = loadError(`id: t
input: json
output:
  entry:
    - ${line}
      resource: { resourceType: Location }
`);
    expect(err.message).toContain(`${FILE}:${at}:`);
    expect(err.message).toContain(message);
    expect(err.line).toBe(at);
  });

  it('refuses an entry that also writes fullUrl or request, and one whose type it cannot know', () => {
    const twice = loadError(`id: t
input: json
output:
  $upsert: { system: urn:x, value: v }
  resource: { resourceType: Location }
  request: { method: PUT, url: Location }
`);
    expect(twice.message).toContain(`${FILE}:6: (mapping): $upsert writes request: leave it out`);
    const unknownType = loadError(`id: t
input: json
output:
  $upsert: { system: urn:x, value: v }
  resource: { resourceType: { $path: $.kind } }
`);
    expect(unknownType.message).toContain(`${FILE}:5: $upsert: $upsert needs the resource type`);
    // With a type written out, a resource type read from the input is allowed.
    expect(() => loadMapping(FILE, `id: t\ninput: json\noutput:\n  $upsert: { type: Location, system: urn:x, value: v }\n  resource: { resourceType: { $path: $.kind } }\n`)).not.toThrow();
  });
});

const CONDITIONS = `id: t
input: json
let:
  isMerge: { $path: $.event, $in: [A34, A40] }
  keyed: { $and: [{ $not: { $path: $.mrn } }, { $path: $.nhs }] }
output:
  merge: { $var: isMerge }
  keyed: { $var: keyed }
  withFalse: { $first: [{ $var: isMerge }, { $const: false }] }
  link: { $when: { $var: isMerge }, type: replaces, other: { $path: $.old } }
  notAdmit: { $path: $.event, $ne: A01 }
`;

describe('conditions as values', () => {
  it('give true when they hold, read naturally in $when', () => {
    expect(run(CONDITIONS, { event: 'A40', nhs: '9434765919', old: 'X' })).toEqual({
      merge: true,
      keyed: true,
      withFalse: true,
      link: { type: 'replaces', other: 'X' },
      notAdmit: true,
    });
  });

  it('give no value (never false) when they do not hold', () => {
    expect(run(CONDITIONS, { event: 'A01', mrn: 'RX1', nhs: '9434765919', old: 'X' })).toEqual({ withFalse: false });
  });

  it.each([
    ['$and beside a value', '{ $and: [{ $path: $.a }], $path: $.b }', '$and stands alone in its condition'],
    ['a test without a value', '{ $in: [A, B] }', '$in tests a value'],
    ['$in without a list', '{ $path: $.a, $in: A }', '$in needs a list'],
    ['two tests', '{ $path: $.a, $eq: A, $ne: B }', 'a condition takes at most one test'],
    ['$exists that is not true or false', '{ $path: $.a, $exists: maybe }', '$exists needs true or false'],
  ])('refuses %s at load, naming file and line', (_what, value, message) => {
    const err = loadError(`id: t
input: json
let:
  flag: ${value}
output: { x: { $var: flag } }
`);
    expect(err.message).toContain(`${FILE}:4: let.flag: ${message}`);
    expect(err.line).toBe(4);
  });
});
