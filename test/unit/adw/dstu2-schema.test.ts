// The DSTU2 schemas (adapters/adw/dstu2-schema.ts): every response Tramline builds is valid in JSON
// and, read back by the parser, in XML; the notices it reads are valid; and the schemas refuse
// what DSTU2 does not allow (misspelt or R4-only elements, wrong cardinality, codes outside
// required bindings, malformed primitives), naming paths and never values.
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkAdw } from '../../../adapters/adw/check.js';
import { validateDstu2 } from '../../../adapters/adw/dstu2-schema.js';
import type { JsonObject } from '../../../adapters/adw/fhir-dstu2.js';
import { parseAdw } from '../../../adapters/adw/parse.js';
import { buildRejection, buildResponse, serialiseAdw, type ResponseOptions } from '../../../adapters/adw/respond.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/adw/${name}`, import.meta.url)), 'utf8');
const NOTICES = {
  'assessment (XML)': fixture('assessment-notice.xml'),
  'assessment (JSON)': fixture('assessment-notice.json'),
  'discharge (XML)': fixture('discharge-notice.xml'),
  'withdrawal (XML)': fixture('withdrawal-notice.xml'),
  'withdrawal (JSON)': fixture('withdrawal-notice.json'),
};
const NOW = new Date('2026-12-02T09:30:00Z');
const options = (answer: 'accept' | 'reject', extra: Partial<ResponseOptions> = {}): ResponseOptions => ({
  answer,
  reason: { code: 'OFT', display: 'Other - Free Text', text: 'Assessment allocated to the hospital team.' },
  responder: { family: 'Quayle', given: ['Tomasz'], email: 'tomasz.quayle@northmoor.test', phone: '01632 960 555', role: { code: 'R1340', display: 'Approved Social Worker' } },
  now: NOW,
  ...extra,
});
const clone = (b: JsonObject) => structuredClone(b) as any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Valid as built, and as read back from its XML and its JSON serialisation (and equal to it). */
function expectValidBothWays(bundle: JsonObject): void {
  expect(validateDstu2(bundle)).toEqual([]);
  for (const format of ['xml', 'json'] as const) {
    const back = parseAdw(serialiseAdw(bundle, format));
    expect(back.format).toBe(format);
    expect(validateDstu2(back.bundle)).toEqual([]);
    expect(back.bundle).toEqual(bundle);
  }
}

describe('DSTU2 schemas', () => {
  test.each(Object.entries(NOTICES))('the %s notice fixture is valid', (_name, text) => {
    expect(validateDstu2(parseAdw(text).bundle)).toEqual([]);
  });

  describe.each(Object.entries(NOTICES))('responses to the %s notice', (_name, text) => {
    test.each(['accept', 'reject'] as const)('%s: valid in JSON and XML, and passes the ADW checks', (answer) => {
      const response = buildResponse(parseAdw(text).bundle, options(answer));
      expectValidBothWays(response);
      expect(checkAdw(response)).toEqual([]);
    });
  });

  test('a discharge agreement with a letter (ITK document Bundle) is valid both ways', () => {
    const letter = { content: Buffer.from('%PDF-1.5\n% a letter\n'), contentType: 'application/pdf', careSetting: { code: '408458006', display: 'Specialist multidisciplinary team (qualifier value)' } };
    const response = buildResponse(parseAdw(NOTICES['discharge (XML)']).bundle, options('accept', { letter }));
    expectValidBothWays(response);
    const document = (response.entry as { resource: any }[]).map((e) => e.resource).find((r) => r.resourceType === 'Bundle'); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(document.type).toBe('document');
    expect(document.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType)).toEqual(['DocumentReference', 'Practitioner', 'Patient', 'Practitioner', 'Organization', 'Binary']);
    expect(Buffer.from(document.entry[5].resource.content, 'base64').toString()).toBe('%PDF-1.5\n% a letter\n');
  });

  test('the infrastructure rejection is valid both ways, with and without the original', () => {
    const original = parseAdw(NOTICES['assessment (JSON)']).bundle;
    expectValidBothWays(buildRejection(original, [{ path: 'Bundle.entry[0].resource.event.code', reason: 'not an ADW event' }], { ods: 'Z99ZZ' }, { now: NOW }));
    expectValidBothWays(buildRejection(undefined, [{ path: '', reason: 'not readable: malformed XML' }], { ods: 'Z99ZZ' }, { now: NOW }));
  });

  describe('refusals', () => {
    const response = () => clone(buildResponse(parseAdw(NOTICES['assessment (XML)']).bundle, options('accept')));
    const cases: [string, (b: any) => void, string][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      ['a misspelt element', (b) => (b.entry[0].resource.timestmp = b.entry[0].resource.timestamp), 'entry.0.resource: unknown element "timestmp"'],
      ['R4 MessageHeader.eventCoding', (b) => { b.entry[0].resource.eventCoding = b.entry[0].resource.event; delete b.entry[0].resource.event; }, 'entry.0.resource: missing event'],
      ['R4 source as a Reference-like object without endpoint', (b) => (b.entry[0].resource.source = { reference: 'Device/1' }), 'entry.0.resource.source: missing endpoint'],
      ['response code outside ok | transient-error | fatal-error', (b) => (b.entry[0].resource.response.code = 'accepted'), 'entry.0.resource.response.code: must be equal to one of the allowed values (ok | transient-error | fatal-error)'],
      ['response identifier not an id', (b) => (b.entry[0].resource.response.identifier = 'urn:uuid:x y'), 'entry.0.resource.response.identifier: not a valid id'],
      ['timestamp without a time zone', (b) => (b.entry[0].resource.timestamp = '2026-12-02T09:30:00'), 'entry.0.resource.timestamp: not a valid instant'],
      ['Bundle.type outside the value set', (b) => (b.type = 'messages'), 'type: must be equal to one of the allowed values'],
      ['a single recipient where DSTU2 has 0..*', (b) => (b.entry[1].resource.recipient = b.entry[1].resource.recipient[0]), 'entry.1.resource.recipient: must be array'],
      ['ReferralRequest status outside ReferralStatus', (b) => (b.entry[1].resource.status = 'pending'), 'entry.1.resource.status: must be equal to one of the allowed values'],
      ['a birth date that is not a date', (b) => (b.entry[3].resource.birthDate = '01/11/1941'), 'entry.3.resource.birthDate: not a valid date'],
      ['Practitioner.name as an array (R4 shape)', (b) => (b.entry[4].resource.name = [b.entry[4].resource.name]), 'entry.4.resource.name: must be object'],
      ['a ContactPoint system DSTU2 lacks', (b) => (b.entry[4].resource.telecom[0].system = 'url'), 'entry.4.resource.telecom.0.system: must be equal to one of the allowed values'],
      ['an unknown resource type', (b) => b.entry.push({ fullUrl: 'urn:uuid:1', resource: { resourceType: 'Basic', id: '1' } }), 'resourceType: must be equal to one of the allowed values'],
      ['an extension with two values', (b) => (b.entry[3].resource.extension = [{ url: 'urn:x', valueString: 'a', valueBoolean: true }]), 'entry.3.resource.extension.0: more than one value[x]'],
    ];
    test.each(cases)('%s', (_name, spoil, expected) => {
      const b = response();
      spoil(b);
      const problems = validateDstu2(b);
      expect(problems.some((p) => p.includes(expected))).toBe(true);
    });

    test('problems name paths, never the values', () => {
      const b = response();
      b.entry[3].resource.birthDate = 'Barry Jones 1941';
      b.entry[3].resource.nickname = 'Baz';
      const problems = validateDstu2(b).join('\n');
      expect(problems).toContain('entry.3.resource.birthDate');
      expect(problems).not.toMatch(/Barry|Baz|1941/);
    });
  });
});
