// Output validation: the FHIR R4 JSON Schema per resource plus the UK Core rules.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { identifierSearch } from '../../adapters/fhir/search-token.js';
import { ValidationError } from '../../core/errors.js';
import { sharedCallContexts } from '../../mappings/validate/ajv-internals.js';
import { fhirIssues, validateFhirOutput } from '../../mappings/validate/index.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let valid: Json;
const load = (): Json => JSON.parse(readFileSync('mappings/hl7v2/cases/a01-admit-bst-repeats.expected.json', 'utf8'));
const encounterIndex = (b: Json): number => (b.entry as { resource: Json }[]).findIndex((e) => e.resource.resourceType === 'Encounter');
const patientOf = (b: Json): Json => b.entry[0].resource;

beforeAll(() => {
  valid = load();
});

describe('FHIR R4 + UK Core validation', () => {
  it('accepts a mapped ADT bundle', () => {
    expect(fhirIssues(valid)).toEqual([]);
    expect(() => validateFhirOutput(valid)).not.toThrow();
    // The fast validators pass one shared context into nested definitions: if ajv's
    // generated code stops matching the rewrite, this says so (it would only be slower).
    expect(sharedCallContexts()).toBeGreaterThan(100);
  });

  it('reports schema errors per resource with their path', () => {
    const b = load();
    patientOf(b).gender = 'woman';
    patientOf(b).colour = 'blue';
    patientOf(b).name[0].given = ['Ann', 42];
    const issues = fhirIssues(b, ['fhir-r4']);
    expect(issues).toContain('entry[0].resource/gender: must be one of male, female, other, unknown');
    expect(issues).toContain('entry[0].resource: unknown element "colour"');
    expect(issues).toContain('entry[0].resource/name/0/given/1: must be string');
  });

  it('checks the NHS number: system, Modulus 11, only one', () => {
    const b = load();
    patientOf(b).identifier[0].value = '9434765918';
    patientOf(b).identifier.push({ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9449305552' });
    const issues = fhirIssues(b, ['uk-core']);
    expect(issues).toContain('entry[0].resource.identifier: more than one NHS number');
    expect(issues).toContain('entry[0].resource.identifier[0].value: NHS number must be 10 digits with a valid Modulus 11 check digit');
  });

  it('needs the identifier a conditional upsert keys on to be on the resource', () => {
    const b = load();
    patientOf(b).identifier[1].value = 'RX9999'; // the MRN the Patient is keyed on
    expect(fhirIssues(b, ['uk-core'])).toEqual(['entry[0].request.url: the resource has no identifier urn:tramline:id:RXX:RXX|RX1001']);
  });

  it('reads escaped conditional upsert URLs, and refuses one naming several identifiers', () => {
    const b = load();
    const loc = b.entry.findIndex((e: Json) => e.resource.resourceType === 'Location');
    const entry = b.entry[loc];
    entry.resource.identifier[0].value = 'A&E, East|2';
    entry.request.url = identifierSearch(entry.resource.identifier[0].system, 'A&E, East|2', 'Location');
    expect(fhirIssues(b, ['uk-core'])).toEqual([]);
    entry.request.url = `Location?identifier=${entry.resource.identifier[0].system}|A,B`;
    expect(fhirIssues(b, ['uk-core'])).toEqual([`entry[${loc}].request.url: a conditional upsert must name one identifier (a comma means OR; escape it as \\,)`]);
  });

  it('reads a plain conditional upsert URL as a server would: the first bar ends the system', () => {
    const b = load();
    const loc = b.entry.findIndex((e: Json) => e.resource.resourceType === 'Location');
    const entry = b.entry[loc];
    const { system, value } = entry.resource.identifier[0];
    expect(entry.request.url).toBe(`Location?identifier=${system}|${value}`);
    // A bar inside the system must be escaped; written plain, the server would split there.
    entry.resource.identifier[0].system = 'urn:x|y';
    entry.request.url = `Location?identifier=urn:x|y|${value}`;
    expect(fhirIssues(b, ['uk-core'])).toEqual([`entry[${loc}].request.url: the resource has no identifier urn:x|y|${value}`]);
    entry.request.url = identifierSearch('urn:x|y', value, 'Location');
    expect(fhirIssues(b, ['uk-core'])).toEqual([]);
    // The right identifier on the wrong type of resource.
    entry.request.url = `Patient?identifier=urn:x|y|${value}`.replace('urn:x|y', 'urn:x%5C%7Cy');
    expect(fhirIssues(b, ['uk-core'])).toEqual([`entry[${loc}].request.url: upserts a Patient but the resource is a Location`]);
  });

  it('checks verification status and ethnic category codes, profiles and required elements', () => {
    const b = load();
    patientOf(b).identifier[0].extension[0].valueCodeableConcept.coding[0].code = '09';
    patientOf(b).extension[0].valueCodeableConcept.coding[0].code = 'I';
    delete patientOf(b).meta;
    const enc = b.entry.find((e: Json) => e.resource.resourceType === 'Encounter').resource;
    delete enc.subject;
    const issues = fhirIssues(b, ['uk-core']);
    expect(issues.some((i) => i.includes('verification status must be a code 01–08'))).toBe(true);
    expect(issues.some((i) => i.includes('ethnic category must be a code'))).toBe(true);
    expect(issues).toContain('entry[0].resource.meta.profile: must include https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient');
    expect(issues.some((i) => /entry\[\d+\]\.resource\.subject: required for Encounter/.test(i))).toBe(true);
  });

  it('keeps the verification status on the NHS number, and needs system and value on every identifier', () => {
    const b = load();
    const ids = patientOf(b).identifier;
    const local = ids.findIndex((id: Json) => id.system !== 'https://fhir.nhs.uk/Id/nhs-number');
    ids[local].extension = ids[0].extension;
    delete ids[local].value;
    const issues = fhirIssues(b, ['uk-core']);
    expect(issues).toContain(`entry[0].resource.identifier[${local}]: the NHS number verification status belongs on the NHS number only`);
    expect(issues).toContain(`entry[0].resource.identifier[${local}]: needs system and value`);
  });

  it('checks the Bundle itself without looking into its resources, and survives malformed entries', () => {
    const b = load();
    b.entry[0].request.method = 'PATCHY';
    b.entry.push(null);
    const issues = fhirIssues(b);
    expect(issues).toContain('Bundle/entry/0/request/method: must be one of GET, HEAD, POST, PUT, DELETE, PATCH');
    expect(issues).toContain(`entry[${b.entry.length - 1}]: must be an object`);
    expect(issues.filter((i) => i.startsWith('entry[0].resource'))).toEqual([]);
  });

  it('checks that urn:uuid references resolve and transaction entries have requests', () => {
    const b = load();
    b.entry[1].resource.managingOrganization = { reference: 'urn:uuid:00000000-0000-5000-8000-000000000000' };
    delete b.entry[2].request;
    const issues = fhirIssues(b, ['uk-core']);
    expect(issues).toContain('entry[1].resource.managingOrganization.reference: urn:uuid:00000000-0000-5000-8000-000000000000 is not an entry in this bundle');
    expect(issues).toContain('entry[2].request: method and url are required in a transaction');
  });

  it('finds an unresolved reference from the references the schema check collects', () => {
    const b = load();
    // The Encounter (it has a serviceProvider), wherever the mapping puts it in the bundle.
    const i = encounterIndex(b);
    expect(fhirIssues(b)).toEqual([]);
    // Valid FHIR, so the UK Core check relies on what the schema walk collected.
    b.entry[i].resource.serviceProvider = { reference: 'urn:uuid:00000000-0000-5000-8000-000000000000' };
    expect(fhirIssues(b)).toEqual([
      `entry[${i}].resource.serviceProvider.reference: urn:uuid:00000000-0000-5000-8000-000000000000 is not an entry in this bundle`,
    ]);
    // A reference to something outside the bundle (not a urn:uuid) is the server's business.
    b.entry[i].resource.serviceProvider = { reference: 'Organization/RXL' };
    expect(fhirIssues(b)).toEqual([]);
  });

  it('counts only Reference.reference as a reference once the schema has said which is which', () => {
    const b = load();
    const i = encounterIndex(b);
    // Expression.reference is a uri, not a Reference: the bundle need not hold what it names.
    const expression = { url: 'https://example.org/fhir/StructureDefinition/rule', valueExpression: { language: 'text/fhirpath', reference: 'urn:uuid:11111111-1111-5111-8111-111111111111' } };
    b.entry[i].resource.extension = [expression];
    expect(fhirIssues(b)).toEqual([]);
    // With a real unresolved Reference beside it, only that one is reported.
    b.entry[i].resource.serviceProvider = { reference: 'urn:uuid:00000000-0000-5000-8000-000000000000' };
    expect(fhirIssues(b)).toEqual([
      `entry[${i}].resource.serviceProvider.reference: urn:uuid:00000000-0000-5000-8000-000000000000 is not an entry in this bundle`,
    ]);
    // Without the schema check there is no telling, so every string named `reference` counts.
    expect(fhirIssues(b, ['uk-core'])).toEqual([
      `entry[${i}].resource.serviceProvider.reference: urn:uuid:00000000-0000-5000-8000-000000000000 is not an entry in this bundle`,
      `entry[${i}].resource.extension[0].valueExpression.reference: urn:uuid:11111111-1111-5111-8111-111111111111 is not an entry in this bundle`,
    ]);
  });

  it('throws a ValidationError carrying every issue', () => {
    const b = load();
    patientOf(b).gender = 'woman';
    patientOf(b).identifier[0].value = '1234567890';
    patientOf(b).identifier[1].value = 'RX9999';
    let err: unknown;
    try {
      validateFhirOutput(b);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.length).toBeGreaterThanOrEqual(3);
  });
});
