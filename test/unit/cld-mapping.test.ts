// CLD → FHIR: a realistic person's Bundle checked field by field, re-sends identical, the
// NHS number rule, carers, parameters, refusals, and the shipped example cases.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import type { Bundle, BundleEntry, CareTeam, Condition, Encounter, EpisodeOfCare, Organization, Patient, Practitioner, RelatedPerson, Resource, ServiceRequest } from 'fhir/r4.js';
import { MappingError } from '../../core/errors.js';
import { formatCaseResult, runMappingCases } from '../../mappings/engine/cases.js';
import { deterministicUuid } from '../../mappings/functions/ids.js';
import { fhirIssues } from '../../mappings/index.js';
import { cldRecordMapper, mapCldRows, readCldCsv } from '../../mappings/social-care/cld.js';

const rawRows = readCldCsv(readFileSync('channels/examples/extracts/cld-sample.csv', 'utf8')).map((r) => r.raw);
const rowsOf = (person: string) => rawRows.filter((r) => r.LA_Person_Unique_Identifier === person);

const BASE = 'https://fhir.x26.gov.uk';
const PERSON_SYSTEM = `${BASE}/Id/person-id`;
const urn = (kind: string, key: string) => `urn:uuid:${deterministicUuid(kind, key)}`;

function entriesOf<T extends Resource>(bundle: Bundle, type: T['resourceType']): (BundleEntry & { resource: T })[] {
  return (bundle.entry ?? []).filter((e): e is BundleEntry & { resource: T } => e.resource?.resourceType === type);
}

describe('a service user with a request, an assessment, a service and a review (P1001)', () => {
  const { bundle, issues } = mapCldRows(rowsOf('P1001'));
  const patientUrl = urn('Patient', `${PERSON_SYSTEM}|P1001`);
  const laUrl = urn('Organization', 'https://fhir.nhs.uk/Id/ods-organization-code|X26');

  it('is a valid transaction Bundle with no warnings', () => {
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.type).toBe('transaction');
    expect(issues).toEqual([]);
    expect(fhirIssues(bundle)).toEqual([]);
    expect((bundle.entry ?? []).map((e) => e.resource?.resourceType)).toEqual([
      'Patient',
      'Organization',
      'Organization',
      'Condition',
      'EpisodeOfCare',
      'ServiceRequest',
      'Encounter',
      'Encounter',
      'Practitioner',
      'CareTeam',
    ]);
  });

  it('Patient: UK Core, NHS number and council id, demographics, GP and council', () => {
    const [entry] = entriesOf<Patient>(bundle, 'Patient');
    expect(entry.fullUrl).toBe(patientUrl);
    expect(entry.request).toEqual({ method: 'PUT', url: `Patient?identifier=${PERSON_SYSTEM}|P1001` });
    const p = entry.resource;
    expect(p.meta?.profile).toEqual(['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient']);
    expect(p.identifier).toEqual([
      { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' },
      { system: PERSON_SYSTEM, value: 'P1001' },
    ]);
    expect(p.gender).toBe('female');
    expect(p.birthDate).toBe('1941-05-12');
    expect(p.deceasedDateTime).toBeUndefined();
    expect(p.address).toEqual([{ use: 'home', postalCode: 'LS1 4AP' }]);
    expect(p.extension).toEqual([
      {
        url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory',
        valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland', code: 'A', display: 'White - British' }] },
      },
    ]);
    expect(p.generalPractitioner).toEqual([{ reference: urn('Organization', 'https://fhir.nhs.uk/Id/ods-organization-code|B86001') }]);
    expect(p.managingOrganization).toEqual({ reference: laUrl });
  });

  it('Organizations: the council and the GP practice by ODS code', () => {
    const [la, gp] = entriesOf<Organization>(bundle, 'Organization');
    expect(la.fullUrl).toBe(laUrl);
    expect(la.resource.identifier).toEqual([{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'X26' }]);
    expect(la.resource.name).toBe('Tramline Sample Borough Council');
    expect(la.request).toEqual({ method: 'PUT', url: 'Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|X26' });
    expect(gp.resource.identifier).toEqual([{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'B86001' }]);
    expect(gp.resource.name).toBe('Riverside Medical Practice');
  });

  it('Condition: the primary support reason, coded with the Interweave code system', () => {
    const [c] = entriesOf<Condition>(bundle, 'Condition');
    expect(c.resource.identifier).toEqual([{ system: `${BASE}/Id/primary-support-reason`, value: 'P1001' }]);
    expect(c.resource.code).toEqual({
      coding: [{ system: 'https://fhir.interweavedigital.nhs.uk/CodeSystem/Interweave-SocialCareSupportReason', code: 'PS-PCS', display: 'Physical Support: Personal care support' }],
      text: 'Physical Support: Personal care support',
    });
    expect(c.resource.clinicalStatus?.coding?.[0].code).toBe('active');
    expect(c.resource.subject).toEqual({ reference: patientUrl });
  });

  it('EpisodeOfCare: the open home support service, active, typed by component and category', () => {
    const [e] = entriesOf<EpisodeOfCare>(bundle, 'EpisodeOfCare');
    expect(e.fullUrl).toBe(urn('EpisodeOfCare', `${BASE}/Id/cld-service|SVC-1001-1`));
    expect(e.request).toEqual({ method: 'PUT', url: `EpisodeOfCare?identifier=${BASE}/Id/cld-service|SVC-1001-1` });
    const r = e.resource;
    expect(r.identifier).toEqual([{ system: `${BASE}/Id/cld-service`, value: 'SVC-1001-1' }]);
    expect(r.status).toBe('active');
    expect(r.type?.map((t) => [t.coding?.[0].code, t.text])).toEqual([
      ['HS', 'Home Support'],
      ['LTS-C', 'Long Term Support: Community'],
    ]);
    expect(r.period).toEqual({ start: '2025-10-21' });
    expect(r.patient).toEqual({ reference: patientUrl });
    expect(r.managingOrganization).toEqual({ reference: laUrl });
  });

  it('ServiceRequest: the request, completed, with its route of access and outcome', () => {
    const [s] = entriesOf<ServiceRequest>(bundle, 'ServiceRequest');
    const r = s.resource;
    expect(r.identifier).toEqual([{ system: `${BASE}/Id/cld-request`, value: 'REQ-1001-1' }]);
    expect(r.status).toBe('completed');
    expect(r.intent).toBe('order');
    expect(r.occurrencePeriod).toEqual({ start: '2025-10-01', end: '2025-10-03' });
    expect(r.authoredOn).toBe('2025-10-01');
    expect(r.performer).toEqual([{ reference: laUrl }]);
    expect(r.extension).toEqual([
      {
        url: `${BASE}/StructureDefinition/Extension-CLD-RequestRouteOfAccess`,
        valueCodeableConcept: { coding: [{ system: `${BASE}/CodeSystem/cld-request-route-of-access`, code: 'Discharge from Hospital' }], text: 'Discharge from Hospital' },
      },
      {
        url: `${BASE}/StructureDefinition/Extension-CLD-EventOutcome`,
        valueCodeableConcept: { coding: [{ system: `${BASE}/CodeSystem/cld-event-outcome`, code: 'Progress to Assessment' }], text: 'Progress to Assessment' },
      },
    ]);
  });

  it('Encounters: the assessment (face to face, eligible) and the review (by telephone, planned), with outcomes', () => {
    const [assessment, review] = entriesOf<Encounter>(bundle, 'Encounter').map((e) => e.resource);
    expect(assessment.identifier).toEqual([{ system: `${BASE}/Id/cld-assessment`, value: 'ASM-1001-1' }]);
    expect(assessment.status).toBe('finished');
    expect(assessment.class).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'FLD', display: 'field' });
    expect(assessment.type?.map((t) => t.text)).toEqual(['Social care assessment', 'Long Term Support Assessment', 'Face to face']);
    expect(assessment.period).toEqual({ start: '2025-10-04', end: '2025-10-20' });
    expect(assessment.extension?.map((x) => [x.url.split('/').pop(), x.valueCodeableConcept?.text ?? x.valueBoolean])).toEqual([
      ['Extension-CLD-EventOutcome', 'Long Term Support'],
      ['Extension-CLD-EligibleNeedsIdentified', true],
    ]);
    expect(assessment.serviceProvider).toEqual({ reference: laUrl });

    expect(review.identifier).toEqual([{ system: `${BASE}/Id/cld-review`, value: 'REV-1001-1' }]);
    expect(review.class.code).toBe('VR');
    expect(review.reasonCode).toEqual([{ coding: [{ system: `${BASE}/CodeSystem/cld-review-reason`, code: 'Planned' }], text: 'Planned' }]);
    expect(review.extension?.map((x) => x.valueCodeableConcept?.text)).toEqual(['No change in package', 'Fully achieved']);
    expect(review.subject).toEqual({ reference: patientUrl });
  });

  it('Practitioner and CareTeam: the allocated worker and team contact', () => {
    const [worker] = entriesOf<Practitioner>(bundle, 'Practitioner');
    const workerUrl = urn('Practitioner', `${BASE}/Id/worker-id|W0451`);
    expect(worker.fullUrl).toBe(workerUrl);
    expect(worker.resource.identifier).toEqual([{ system: `${BASE}/Id/worker-id`, value: 'W0451' }]);
    expect(worker.resource.name).toEqual([{ text: 'Sam Okafor' }]);
    const [team] = entriesOf<CareTeam>(bundle, 'CareTeam');
    expect(team.resource).toMatchObject({
      identifier: [{ system: `${BASE}/Id/allocated-care-team`, value: 'P1001' }],
      status: 'active',
      name: 'North Locality Team',
      subject: { reference: patientUrl },
      participant: [
        { role: [{ text: 'Social Worker' }], member: { reference: workerUrl } },
        { role: [{ text: 'Responsible local authority' }], member: { reference: laUrl } },
      ],
      managingOrganization: [{ reference: laUrl }],
      telecom: [{ system: 'phone', value: '0113 496 0000', use: 'work' }],
    });
  });

  it('every entry is a conditional upsert on one of its own identifiers', () => {
    for (const e of bundle.entry ?? []) {
      expect(e.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(e.request?.method).toBe('PUT');
      const [type, query] = (e.request?.url ?? '').split('?identifier=');
      expect(type).toBe(e.resource?.resourceType);
      const ids = ((e.resource as { identifier?: { system: string; value: string }[] }).identifier ?? []).map((i) => `${i.system}|${i.value}`);
      expect(ids).toContain(query);
    }
  });
});

describe('re-sending', () => {
  it('the same rows give a byte-identical Bundle', () => {
    expect(JSON.stringify(mapCldRows(rowsOf('P1001')).bundle)).toBe(JSON.stringify(mapCldRows(rowsOf('P1001')).bundle));
  });

  it('the same rows in another order give the same Bundle', () => {
    expect(mapCldRows([...rowsOf('P1001')].reverse()).bundle).toEqual(mapCldRows(rowsOf('P1001')).bundle);
  });

  it('a person’s Patient has the same fullUrl in their own Bundle and in their carer’s', () => {
    const own = entriesOf<Patient>(mapCldRows(rowsOf('P1001')).bundle, 'Patient')[0].fullUrl;
    const fromCarer = entriesOf<Patient>(mapCldRows(rowsOf('C2001')).bundle, 'Patient').map((e) => e.fullUrl);
    expect(fromCarer).toContain(own);
  });
});

describe('the NHS number', () => {
  it('one failing Modulus 11 is not published; the person is still published under the council id, with a warning', () => {
    const { bundle, issues } = mapCldRows(rowsOf('P1003'));
    const [p] = entriesOf<Patient>(bundle, 'Patient');
    expect(p.resource.identifier).toEqual([{ system: PERSON_SYSTEM, value: 'P1003' }]);
    expect(JSON.stringify(bundle)).not.toContain('9434765918');
    expect(issues.map((i) => `${i.target}: ${i.message}`)).toEqual(['let.nhsNumber: NHS number fails the Modulus 11 check']);
  });

  it('a date of death is published as deceasedDateTime', () => {
    const rows = rowsOf('P1002').map((r) => ({ ...r, Date_of_Death: '2026-02-14' }));
    expect(entriesOf<Patient>(mapCldRows(rows).bundle, 'Patient')[0].resource.deceasedDateTime).toBe('2026-02-14');
  });

  it('none at all gives a Patient keyed on the council id and no warning', () => {
    const rows = rowsOf('P1001').map((r) => ({ ...r, NHS_Number: '' }));
    const { bundle, issues } = mapCldRows(rows);
    expect(entriesOf<Patient>(bundle, 'Patient')[0].resource.identifier).toEqual([{ system: PERSON_SYSTEM, value: 'P1001' }]);
    expect(issues).toEqual([]);
  });
});

describe('unpaid carers', () => {
  const { bundle } = mapCldRows(rowsOf('C2001'));

  it('the carer is a Patient with their own assessment and service; the adult they care for gets a RelatedPerson', () => {
    expect((bundle.entry ?? []).map((e) => `${e.resource?.resourceType} ${e.request?.method}`)).toEqual([
      'Patient PUT',
      'Organization PUT',
      'Condition PUT',
      'EpisodeOfCare PUT',
      'Encounter PUT',
      'Patient POST',
      'RelatedPerson PUT',
    ]);
    const [related] = entriesOf<RelatedPerson>(bundle, 'RelatedPerson');
    expect(related.resource.patient).toEqual({ reference: urn('Patient', `${PERSON_SYSTEM}|P1001`) });
    expect(related.resource.identifier).toEqual([
      { system: `${BASE}/Id/carer-relationship`, value: 'C2001:P1001' },
      { system: PERSON_SYSTEM, value: 'C2001' },
    ]);
    expect(related.resource.relationship).toEqual([{ coding: [{ system: 'http://snomed.info/sct', code: '133932002', display: 'Caregiver' }], text: 'Unpaid carer' }]);
  });

  it('the cared-for adult is created only if the record does not hold them (never overwritten)', () => {
    const stub = entriesOf<Patient>(bundle, 'Patient')[1];
    expect(stub.request).toEqual({ method: 'POST', url: 'Patient', ifNoneExist: `identifier=${PERSON_SYSTEM}|P1001` });
    expect(stub.resource.identifier).toEqual([{ system: PERSON_SYSTEM, value: 'P1001' }]);
  });

  it('a carer known only by association is never a Patient', () => {
    const { bundle: b } = mapCldRows([{ LA_Code: 'X26', LA_Person_Unique_Identifier: 'C3', Client_Type: 'Carer known by association', Adult_1_Linked_Person_ID: 'P1002' }], { asOf: '2026-03-31' });
    const patients = entriesOf<Patient>(b, 'Patient').map((e) => e.resource.identifier?.[0].value);
    expect(patients).toEqual(['P1002']);
    expect(entriesOf<RelatedPerson>(b, 'RelatedPerson')).toHaveLength(1);
  });
});

describe('parameters and refusals', () => {
  it('idSystemBase and laName set the council’s identifier systems and name', () => {
    const { bundle } = mapCldRows(rowsOf('P1002'), { idSystemBase: 'https://fhir.sample.gov.uk', laName: 'Sample City Council' });
    expect(entriesOf<Patient>(bundle, 'Patient')[0].resource.identifier?.[1]).toEqual({ system: 'https://fhir.sample.gov.uk/Id/person-id', value: 'P1002' });
    expect(entriesOf<Organization>(bundle, 'Organization')[0].resource.name).toBe('Sample City Council');
    expect(JSON.stringify(bundle)).not.toContain('fhir.x26.gov.uk');
  });

  it('a person with a sensitive row is refused, not published', () => {
    expect(() => mapCldRows(rowsOf('P1005'))).toThrow(MappingError);
    expect(() => mapCldRows(rowsOf('P1005'))).toThrow('code "sensitive-record" is not in code map cld-sensitive-records-are-never-mapped');
    // The refusal never says which kind of sensitive record it was (errors may reach logs).
    for (const flag of ['adoption', 'gender-reassignment']) {
      const rows = rowsOf('P1001').map((r) => ({ ...r, Sensitivity: flag }));
      expect(() => mapCldRows(rows)).toThrow(MappingError);
      try {
        mapCldRows(rows);
      } catch (e) {
        expect((e as Error).message).not.toContain(flag);
      }
    }
  });

  it('rows of two people in one group are a MappingError', () => {
    expect(() => mapCldRows([...rowsOf('P1001'), ...rowsOf('P1002')])).toThrow(MappingError);
  });

  it('the record-intake mapper gives the Bundle', () => {
    const bundle = cldRecordMapper({ key: 'P1001', rows: rowsOf('P1001') }, {});
    expect(bundle).toEqual(mapCldRows(rowsOf('P1001')).bundle);
  });
});

describe('the shipped example cases', () => {
  const results = runMappingCases('mappings/social-care/cld-to-fhir.yaml');

  it('all pass (`tramline test mappings/social-care`)', () => {
    expect(results.filter((r) => !r.ok).map(formatCaseResult)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(9);
  });

  it('cover every event type, several events, an invalid NHS number, carers, missing optional fields and refusals', () => {
    const files = readdirSync('mappings/social-care/cases');
    const inputs = files.filter((f) => f.endsWith('.input.json')).map((f) => JSON.parse(readFileSync(`mappings/social-care/cases/${f}`, 'utf8')) as { events: { Event_Type: string }[] });
    expect(new Set(inputs.flatMap((i) => i.events.map((e) => e.Event_Type)))).toEqual(new Set(['Request', 'Assessment', 'Service', 'Review']));
    for (const name of ['invalid-nhs-number.expected-issues.txt', 'unpaid-carer.expected.json', 'carer-known-by-association.expected.json', 'several-services-no-ethnicity-or-gp.expected.json', 'sensitive-record-refused.expected-error.txt']) {
      expect(files).toContain(name);
    }
  });

  it('every expected output passes the FHIR R4 schema and UK Core checks', () => {
    for (const f of readdirSync('mappings/social-care/cases').filter((n) => n.endsWith('.expected.json'))) {
      expect([f, fhirIssues(JSON.parse(readFileSync(`mappings/social-care/cases/${f}`, 'utf8')))]).toEqual([f, []]);
    }
  });
});
