// ADW notices (Care Act 2014 Schedule 3): parsing FHIR DSTU2 message Bundles from XML and JSON
// within bounds, the checks, the Notice read from them and the responses built, over synthetic
// fixtures shaped like NHS England's published examples (test/fixtures/adw/).
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkAdw } from '../../../adapters/adw/check.js';
import type { Json, JsonObject } from '../../../adapters/adw/fhir-dstu2.js';
import { extractNotice } from '../../../adapters/adw/notice.js';
import { AdwParseError, parseAdw } from '../../../adapters/adw/parse.js';
import { buildRejection, buildResponse, serialiseAdw, type ResponseOptions } from '../../../adapters/adw/respond.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/adw/${name}`, import.meta.url)), 'utf8');
const ASSESSMENT_XML = fixture('assessment-notice.xml');
const ASSESSMENT_JSON = fixture('assessment-notice.json');
const DISCHARGE_XML = fixture('discharge-notice.xml');
const WITHDRAWAL_XML = fixture('withdrawal-notice.xml');
const WITHDRAWAL_JSON = fixture('withdrawal-notice.json');

const EPISODE = '5e7d1c2a-9b34-4f0e-8a61-2d9c0b7e4f10';
const parsed = (text: string) => parseAdw(text).bundle;
const clone = (b: JsonObject) => structuredClone(b) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
const resourceOf = (b: JsonObject, type: string) =>
  (b.entry as { resource: JsonObject }[]).map((e) => e.resource).find((r) => r.resourceType === type) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
const withoutType = (b: JsonObject, type: string) => {
  const c = clone(b);
  c.entry = c.entry.filter((e: { resource: JsonObject }) => e.resource.resourceType !== type);
  return c as JsonObject;
};

describe('parse', () => {
  test('XML and JSON give the same DSTU2 JSON', () => {
    const fromXml = parseAdw(ASSESSMENT_XML);
    const fromJson = parseAdw(ASSESSMENT_JSON);
    expect(fromXml.format).toBe('xml');
    expect(fromJson.format).toBe('json');
    expect(fromXml.bundle).toEqual(fromJson.bundle);
    expect(parsed(WITHDRAWAL_XML)).toEqual(parsed(WITHDRAWAL_JSON));
  });

  test('DSTU2 JSON rules: value attributes, repeating elements as arrays, typed primitives, extensions', () => {
    const patient = resourceOf(parsed(ASSESSMENT_XML), 'Patient');
    expect(patient.birthDate).toBe('1938-03-14');
    expect(patient.name).toEqual([{ use: 'usual', family: ['Fenwick'], given: ['Ada', 'Marjorie'] }]);
    expect(patient.extension[0].extension[1]).toEqual({ url: 'interpreterRequired', valueBoolean: false });
    const encounter = resourceOf(parsed(ASSESSMENT_XML), 'Encounter');
    expect(encounter.location).toEqual([{ location: { reference: 'urn:uuid:a1000000-0000-4000-8000-0000000000aa' } }]);
    const practitioner = resourceOf(parsed(ASSESSMENT_XML), 'Practitioner');
    expect(practitioner.name).toEqual({ family: ['Halden'], given: ['Priya'] });
  });

  test('narrative div is kept as an xhtml string; a primitive with an id keeps it under _name', () => {
    const xml = ASSESSMENT_XML.replace(
      '<status value="completed"/>',
      '<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Ada &amp; <b>carer</b></p></div></text>\n<status id="s1" value="completed"/>',
    );
    const qr = resourceOf(parsed(xml), 'QuestionnaireResponse');
    expect(qr.text).toEqual({ status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Ada &amp; <b>carer</b></p></div>' });
    expect(qr.status).toBe('completed');
    expect(qr._status).toEqual({ id: 's1' });
    // And back again through XML.
    const xmlAgain = serialiseAdw(parsed(xml), 'xml');
    expect(parsed(xmlAgain)).toEqual(parsed(xml));
  });

  test('malformed XML and JSON are refused', () => {
    expect(() => parseAdw(ASSESSMENT_XML.replace('</Bundle>', ''))).toThrow(/malformed XML/);
    expect(() => parseAdw('{"resourceType": "Bundle",')).toThrow(/malformed JSON/);
    expect(() => parseAdw('MSH|^~\\&|')).toThrow(/neither XML nor JSON/);
    expect(() => parseAdw('<Patient xmlns="http://hl7.org/fhir"/>')).toThrow(/root element is not Bundle/);
    expect(() => parseAdw('<Bundle/>')).toThrow(/FHIR namespace/);
  });

  test('XXE and entity expansion: any DTD is refused', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE Bundle [<!ENTITY x SYSTEM "file:///etc/passwd">]><Bundle xmlns="http://hl7.org/fhir"><id value="&x;"/></Bundle>';
    expect(() => parseAdw(xxe)).toThrow(AdwParseError);
    expect(() => parseAdw(xxe)).toThrow(/DTD/);
    const laughs = '<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><Bundle xmlns="http://hl7.org/fhir"><id value="&b;"/></Bundle>';
    expect(() => parseAdw(laughs)).toThrow(/DTD/);
  });

  test("references: XML's own entities and character references decoded, any other refused; '>' in a value", () => {
    const named = (family: string) => ASSESSMENT_XML.replace('<family value="Fenwick"/>', `<family value="${family}"/>`);
    expect(resourceOf(parsed(named('O&#x2019;Dell &amp; Co a>b &#60;')), 'Patient').name[0].family).toEqual(['O\u2019Dell & Co a>b <']);
    expect(() => parseAdw(named('a &nbsp; b'))).toThrow(/undeclared entity &nbsp;/);
    expect(() => parseAdw(named('a &#0; b'))).toThrow(/character reference to no character/);
  });

  test('size and depth limits', () => {
    expect(() => parseAdw(ASSESSMENT_XML, { maxBytes: 1000, maxDepth: 64 })).toThrow(/larger than 1000 bytes/);
    const deep = `<Bundle xmlns="http://hl7.org/fhir">${'<extension url="x">'.repeat(100)}${'</extension>'.repeat(100)}</Bundle>`;
    expect(() => parseAdw(deep)).toThrow(/nested deeper than 64/);
    const deepJson = `{"resourceType":"Bundle","x":${'['.repeat(100)}${']'.repeat(100)}}`;
    expect(() => parseAdw(deepJson)).toThrow(/nested deeper than 64/);
  });

  test('a non-repeating element given twice is an error, not silently dropped', () => {
    expect(() => parseAdw(ASSESSMENT_XML.replace('<birthDate value="1938-03-14"/>', '<birthDate value="1938-03-14"/><birthDate value="1939-01-01"/>')))
      .toThrow(/birthDate: appears 2 times/);
  });
});

describe('check', () => {
  test('the fixtures pass', () => {
    for (const f of [ASSESSMENT_XML, ASSESSMENT_JSON, DISCHARGE_XML, WITHDRAWAL_XML]) expect(checkAdw(parsed(f))).toEqual([]);
  });

  test('wrong Bundle type and first entry', () => {
    const b = clone(parsed(ASSESSMENT_JSON));
    b.type = 'collection';
    expect(checkAdw(b)).toContainEqual({ path: 'Bundle.type', reason: 'must be "message"' });
    b.entry.reverse();
    expect(checkAdw(b)).toContainEqual({ path: 'Bundle.entry[0]', reason: 'the first entry must be a MessageHeader' });
  });

  test('unknown event code', () => {
    const b = clone(parsed(ASSESSMENT_JSON));
    b.entry[0].resource.event.code = '123456789';
    expect(checkAdw(b)).toEqual([{ path: 'Bundle.entry[0].resource.event.code', reason: 'not an ADW event' }]);
  });

  test('invalid NHS number: reported by path, the number itself never quoted', () => {
    const issues = checkAdw(parsed(ASSESSMENT_XML.replace('9997654323', '9997654324')));
    expect(issues).toEqual([
      { path: 'Bundle.entry[3].resource.identifier[0].value', reason: 'NHS number is not 10 digits with a valid Modulus 11 check digit' },
    ]);
    expect(JSON.stringify(issues)).not.toContain('9997654324');
  });

  test('missing ReferralRequest, Patient, QuestionnaireResponse', () => {
    const noReferral = checkAdw(withoutType(parsed(ASSESSMENT_JSON), 'ReferralRequest'));
    expect(noReferral).toContainEqual({ path: 'Bundle.entry', reason: 'Assessment Notice: must carry a ReferralRequest' });
    const noPatient = checkAdw(withoutType(parsed(ASSESSMENT_JSON), 'Patient'));
    expect(noPatient).toContainEqual({ path: 'Bundle.entry', reason: 'Assessment Notice: must carry a Patient' });
    expect(noPatient).toContainEqual({ path: 'Bundle.entry[1].resource.patient', reason: 'refers to no Patient in the Bundle' });
    expect(checkAdw(withoutType(parsed(DISCHARGE_XML), 'QuestionnaireResponse')))
      .toEqual([{ path: 'Bundle.entry', reason: 'Discharge Notice: must carry a QuestionnaireResponse' }]);
  });

  test('ReferralRequest without the episode identifier', () => {
    const b = clone(parsed(ASSESSMENT_JSON));
    delete b.entry[1].resource.identifier;
    expect(checkAdw(b)).toEqual([{ path: 'Bundle.entry[1].resource.identifier', reason: 'the ReferralRequest needs the episode identifier' }]);
  });

  test('a withdrawal needs a reason coded 01–13', () => {
    const b = clone(parsed(WITHDRAWAL_JSON));
    b.entry[0].resource.reason.coding[0].code = '14';
    expect(checkAdw(b)).toEqual([
      { path: 'Bundle.entry[0].resource.reason', reason: 'a withdrawal needs a reason coded 01–13 from https://fhir.nhs.uk/ADW-WithdrawalReason-1' },
    ]);
  });

  test('endpoints must be ODS addresses', () => {
    const b = clone(parsed(ASSESSMENT_JSON));
    b.entry[0].resource.source.endpoint = 'https://hospital.example/fhir';
    b.entry[0].resource.destination[0].endpoint = 'urn:nhs-uk:addressing:ods:';
    expect(checkAdw(b)).toEqual([
      { path: 'Bundle.entry[0].resource.source.endpoint', reason: 'must be urn:nhs-uk:addressing:ods:<ODS code>' },
      { path: 'Bundle.entry[0].resource.destination[0].endpoint', reason: 'must be urn:nhs-uk:addressing:ods:<ODS code>' },
    ]);
  });
});

describe('notice', () => {
  const received = new Date('2026-12-01T10:16:30Z');

  test('an assessment notice, field by field (same from XML and JSON)', () => {
    const notice = extractNotice(parsed(ASSESSMENT_XML), received);
    expect(extractNotice(parsed(ASSESSMENT_JSON), received)).toEqual(notice);
    expect(notice.id).toBe('a1000000-0000-4000-8000-000000000001');
    expect(notice.event).toEqual({ system: 'http://snomed.info/sct', code: '975701000000106', display: 'Assessment Notice' });
    expect(notice.type).toBe('assessment');
    expect(notice.withdrawn).toBeUndefined();
    expect(notice.sentAt).toBe('2026-12-01T10:15:00+00:00');
    expect(notice.receivedAt).toBe('2026-12-01T10:16:30.000Z');
    expect(notice.senderOds).toBe('RZZ9A');
    expect(notice.receiverOds).toBe('Z99ZZ');
    expect(notice.episode).toEqual({ value: EPISODE });
    expect(notice.encounter).toEqual({ system: 'https://fhir.nhs.uk/encounter-id', value: 'enc-77120' });
    expect(notice.person).toEqual({
      nhsNumber: '9997654323',
      nhsNumberStatus: '01',
      identifiers: [
        { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9997654323' },
        { system: 'https://fhir.nhs.uk/Id/local-patient-identifier', value: 'RZ-448812' },
      ],
      names: [{ use: 'usual', family: 'Fenwick', given: ['Ada', 'Marjorie'], prefix: [] }],
      birthDate: '1938-03-14',
      gender: 'female',
      addresses: [{ use: 'home', lines: ['4 Larkspur Row', 'Eastwick'], city: 'Northmoor', district: undefined, postalCode: 'ZZ1 4QT' }],
      telecom: [{ system: 'phone', value: '01632 960 118', use: undefined }],
    });
    expect(notice.hospital).toEqual({ name: 'Riverside General Hospital', ods: 'RZZ9A' });
    expect(notice.ward).toBe('Heron Ward');
    expect(notice.localAuthority).toEqual({ name: 'Northmoor Council', ods: 'Z99ZZ' });
    expect(notice.team).toBe('Northmoor Hospital Social Work Team');
    expect(notice.leadClinician).toEqual({
      name: 'Marcus Oyelaran', role: 'Consultant', phone: undefined, email: undefined,
      roleCode: { system: 'https://fhir.hl7.org.uk/CareConnect-SDSJobRoleName-1', code: 'R0050', display: 'Consultant' },
    });
    expect(notice.hospitalLiaison).toEqual({
      name: 'Priya Halden', role: 'Discharge co-ordinator', phone: '01632 960 200', email: 'priya.halden@nhs.test',
      roleCode: { system: 'https://fhir.hl7.org.uk/CareConnect-SDSJobRoleName-1', code: 'R8003', display: 'Health Professional Access Role' },
    });
    expect(notice.admittedOn).toBe('2026-11-27');
    expect(notice.expectedDischargeDate).toBe('2026-12-18');
    expect(notice.withdrawalReason).toBeUndefined();
  });

  test('a discharge notice', () => {
    const notice = extractNotice(parsed(DISCHARGE_XML), received);
    expect(notice.type).toBe('discharge');
    expect(notice.expectedDischargeDate).toBe('2026-12-18');
  });

  test('a withdrawal notice: which notices, the reason, and the same episode as its assessment', () => {
    const withdrawal = extractNotice(parsed(WITHDRAWAL_XML), received);
    expect(withdrawal.type).toBe('withdrawal');
    expect(withdrawal.withdrawn).toBe('all');
    expect(withdrawal.withdrawalReason).toEqual({ system: 'https://fhir.nhs.uk/ADW-WithdrawalReason-1', code: '07', display: "Patient's condition has deteriorated" });
    expect(withdrawal.episode).toEqual(extractNotice(parsed(ASSESSMENT_XML), received).episode);
    const only = clone(parsed(WITHDRAWAL_JSON));
    only.entry[0].resource.event.code = '1078011000000107';
    expect(extractNotice(only, received).withdrawn).toBe('assessment-only');
    only.entry[0].resource.event.code = '975851000000104';
    expect(extractNotice(only, received).withdrawn).toBe('discharge-only');
  });
});

describe('respond', () => {
  const NOW = new Date('2026-12-02T09:30:00Z');
  let n = 0;
  const options = (answer: 'accept' | 'reject'): ResponseOptions => ({
    answer,
    reason: { code: 'OFT', display: 'Other - Free Text', text: 'Assessment allocated to the hospital team.' },
    responder: { family: 'Quayle', given: ['Tomasz'], email: 'tomasz.quayle@northmoor.test', phone: '01632 960 555', role: { code: 'R1340', display: 'Approved Social Worker' } },
    now: NOW,
    newId: () => `c0000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  });
  const entries = (b: JsonObject) => (b.entry as { fullUrl: string; resource: any }[]); // eslint-disable-line @typescript-eslint/no-explicit-any
  const byRef = (b: JsonObject, ref: Json) => entries(b).find((e) => e.fullUrl === (ref as { reference: string }).reference)?.resource;

  // Per NHS England's response examples: MessageHeader profile, event, referral profile and status.
  const cases = [
    ['assessment accept', ASSESSMENT_XML, 'accept', 'ADW-AssessmentNoticeAcceptResponse-MessageHeader-1', '975711000000108', 'ADW-Accept-ReferralRequest-1', 'accepted'],
    ['assessment reject', ASSESSMENT_XML, 'reject', 'ADW-AssessmentNoticeRejectResponse-MessageHeader-1', '975721000000102', 'ADW-Reject-ReferralRequest-1', 'rejected'],
    ['discharge agreement', DISCHARGE_XML, 'accept', 'ADW-DischargeNoticeAcceptResponse-MessageHeader-1', '975821000000109', 'ADW-Accept-ReferralRequest-1', 'accepted'],
    ['discharge disagreement', DISCHARGE_XML, 'reject', 'ADW-DischargeNoticeRejectResponse-MessageHeader-1', '975831000000106', 'ADW-Reject-ReferralRequest-1', 'rejected'],
    ['withdraw accept', WITHDRAWAL_XML, 'accept', 'ADW-WithdrawalNoticeAcceptResponse-MessageHeader-1', '1025651000000109', 'ADW-Cancel-ReferralRequest-1', 'cancelled'],
    ['withdraw reject', WITHDRAWAL_XML, 'reject', 'ADW-WithdrawalNoticeRejectResponse-MessageHeader-1', '1025641000000106', 'ADW-Cancel-ReferralRequest-1', 'cancelled'],
  ] as const;

  test.each(cases)('%s', (_name, noticeXml, answer, headerProfile, eventCode, referralProfile, status) => {
    const notice = parsed(noticeXml);
    const original = resourceOf(notice, 'MessageHeader');
    const response = buildResponse(notice, options(answer));
    expect(checkAdw(response)).toEqual([]);
    expect(response.type).toBe('message');
    expect(response.meta).toEqual({ profile: ['https://fhir.nhs.uk/StructureDefinition/ADW-Message-Bundle-1'] });
    expect(entries(response).map((e) => e.resource.resourceType)).toEqual([
      'MessageHeader', 'ReferralRequest', 'Encounter', 'Patient', 'Practitioner', 'Practitioner', 'Organization', 'Organization', 'Organization', 'Location',
    ]);
    for (const e of entries(response)) expect(e.fullUrl).toBe(`urn:uuid:${e.resource.id}`);

    const header = entries(response)[0].resource;
    expect(header.meta.profile).toEqual([`https://fhir.nhs.uk/StructureDefinition/${headerProfile}`]);
    expect(header.timestamp).toBe('2026-12-02T09:30:00+00:00');
    expect(header.event).toEqual({ system: 'http://snomed.info/sct', code: eventCode });
    expect(header.response).toEqual({ identifier: original.id, code: 'ok' });
    expect(header.source).toEqual({ endpoint: 'urn:nhs-uk:addressing:ods:Z99ZZ' });
    expect(header.destination).toEqual([{ endpoint: 'urn:nhs-uk:addressing:ods:RZZ9A' }]);
    expect(header.reason).toEqual({
      coding: [{ system: `https://fhir.nhs.uk/ADW-Notice${answer === 'accept' ? 'Accept' : 'Reject'}Reason-1`, code: 'OFT', display: 'Other - Free Text' }],
      text: 'Assessment allocated to the hospital team.',
    });
    const author = byRef(response, header.author);
    expect(author.name).toEqual({ family: ['Quayle'], given: ['Tomasz'] });
    expect(author.practitionerRole[0].role.coding[0]).toMatchObject({ code: 'R1340', display: 'Approved Social Worker' });
    expect(byRef(response, header.receiver).name).toEqual({ family: ['Halden'], given: ['Priya'] });
    expect(byRef(response, header.responsible)).toMatchObject({ resourceType: 'Organization', name: 'Northmoor Council' });

    const referral = byRef(response, header.data[0]);
    expect(referral.meta.profile).toEqual([`https://fhir.nhs.uk/StructureDefinition/${referralProfile}`]);
    expect(referral.status).toBe(status);
    expect(referral.identifier).toEqual([{ value: EPISODE }]);
    expect(byRef(response, referral.requester)).toBe(byRef(response, header.receiver));
    expect(byRef(response, referral.recipient[0])).toMatchObject({ name: 'Northmoor Hospital Social Work Team', partOf: { reference: header.responsible.reference } });
    const encounter = byRef(response, referral.encounter);
    expect(encounter).toMatchObject({ identifier: [{ system: 'https://fhir.nhs.uk/encounter-id', value: 'enc-77120' }], status: 'in-progress', class: 'inpatient' });
    expect(byRef(response, encounter.location[0].location)).toMatchObject({ resourceType: 'Location', name: 'Heron Ward' });
    expect(byRef(response, encounter.serviceProvider)).toMatchObject({ name: 'Riverside General Hospital', identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-site-code', value: 'RZZ9A' }] });
    const patient = byRef(response, referral.patient);
    // The examples' response Patient: identifiers, name, gender, birth date; no address or telecom.
    expect(Object.keys(patient)).toEqual(['resourceType', 'id', 'meta', 'identifier', 'name', 'gender', 'birthDate']);
    expect(patient.identifier[1].assigner).toEqual({ reference: encounter.serviceProvider.reference });
  });

  test('the response comes in the format of the notice', () => {
    const fromXml = parseAdw(WITHDRAWAL_XML);
    const xml = serialiseAdw(buildResponse(fromXml.bundle, options('accept')), fromXml.format);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Bundle xmlns="http://hl7.org/fhir">')).toBe(true);
    expect(parseAdw(xml).format).toBe('xml');
    const fromJson = parseAdw(WITHDRAWAL_JSON);
    const json = serialiseAdw(buildResponse(fromJson.bundle, options('accept')), fromJson.format);
    expect(JSON.parse(json).resourceType).toBe('Bundle');
    // The same response either way once read back.
    n = 0;
    const a = parseAdw(serialiseAdw(buildResponse(fromXml.bundle, options('reject')), 'xml')).bundle;
    n = 0;
    const b = parseAdw(serialiseAdw(buildResponse(fromJson.bundle, options('reject')), 'json')).bundle;
    expect(a).toEqual(b);
  });

  test('a discharge agreement can attach a document Bundle, referenced from the ReferralRequest', () => {
    const letter: JsonObject = {
      resourceType: 'Bundle', id: 'd0000000-0000-4000-8000-000000000001', type: 'document',
      entry: [{ fullUrl: 'urn:uuid:d0000000-0000-4000-8000-000000000002', resource: { resourceType: 'Binary', id: 'd0000000-0000-4000-8000-000000000002', contentType: 'application/pdf', content: 'JVBERi0=' } }],
    };
    const response = buildResponse(parsed(DISCHARGE_XML), { ...options('accept'), supportingDocuments: [letter] });
    const referral = entries(response)[1].resource;
    expect(referral.supportingInformation).toEqual([{ reference: 'urn:uuid:d0000000-0000-4000-8000-000000000001' }]);
    expect(byRef(response, referral.supportingInformation[0])).toEqual(letter);
    expect(checkAdw(response)).toEqual([]);
    expect(parseAdw(serialiseAdw(response, 'xml')).bundle).toEqual(response);
  });

  test('an admission notice or a response cannot be answered', () => {
    const b = clone(parsed(ASSESSMENT_JSON));
    b.entry[0].resource.event.code = '895571000000108';
    expect(() => buildResponse(b, options('accept'))).toThrow(/only an assessment, discharge or withdrawal notice/);
  });

  test('infrastructure rejection: fatal-error answering the message, with an OperationOutcome', () => {
    const b = clone(parsed(ASSESSMENT_JSON));
    b.entry[0].resource.event.code = '123456789';
    const issues = checkAdw(b);
    const rejection = buildRejection(b, issues, { ods: 'Z99ZZ' }, { now: NOW });
    const [header, outcome] = entries(rejection).map((e) => e.resource);
    expect(header.response).toEqual({ identifier: 'a1000000-0000-4000-8000-000000000001', code: 'fatal-error', details: { reference: `urn:uuid:${outcome.id}` } });
    expect(header.source).toEqual({ endpoint: 'urn:nhs-uk:addressing:ods:Z99ZZ' });
    expect(header.destination).toEqual([{ endpoint: 'urn:nhs-uk:addressing:ods:RZZ9A' }]);
    expect(outcome).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-supported', diagnostics: 'not an ADW event', location: ['Bundle.entry[0].resource.event.code'] }],
    });
    // A message that could not be parsed at all: answered to the sender the transport names.
    let reason = '';
    try {
      parseAdw('<Bundle xmlns="http://hl7.org/fhir"><id value="x"/>');
    } catch (err) {
      reason = (err as AdwParseError).reason;
    }
    const unreadable = buildRejection(undefined, [{ path: '', reason }], { ods: 'Z99ZZ', theirs: 'RZZ9A' }, { now: NOW });
    const [h2, o2] = entries(unreadable).map((e) => e.resource);
    expect(h2.response).toMatchObject({ identifier: 'unknown', code: 'fatal-error' });
    expect(o2.issue).toEqual([{ severity: 'error', code: 'structure', diagnostics: expect.stringMatching(/^malformed XML/) }]);
    expect(parseAdw(serialiseAdw(unreadable, 'xml')).bundle).toEqual(unreadable);
  });
});
