// Synthetic social care transaction Bundles for the sandbox FHIR store and FHIR destination
// tests: conditional upserts on business identifiers, urn:uuid: references between entries.
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';

export const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
export const COUNCIL_PERSON = 'https://fhir.example-council.gov.uk/Id/person-id';
export const COUNCIL_EVENT = 'https://fhir.example-council.gov.uk/Id/event-reference';
export const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';

export interface PersonCase {
  nhsNumber: string;
  personId: string;
  family: string;
  events: { ref: string; start: string; end?: string }[];
}

export const ALICE: PersonCase = { nhsNumber: '9434765919', personId: 'P1001', family: 'Testwell', events: [{ ref: 'EV-1', start: '2026-01-05' }, { ref: 'EV-2', start: '2026-02-01', end: '2026-03-01' }] };
export const BOB: PersonCase = { nhsNumber: '9449305552', personId: 'P1002', family: 'Samplefield', events: [{ ref: 'EV-9', start: '2025-11-20' }] };

function put(fullUrl: string, url: string, resource: FhirResource): BundleEntry<FhirResource> {
  return { fullUrl, resource, request: { method: 'PUT', url } };
}

/** One person's social care picture as a transaction Bundle of conditional updates. */
export function personBundle(p: PersonCase): Bundle<FhirResource> {
  const patientUrl = `urn:uuid:${p.personId}-patient`;
  const orgUrl = 'urn:uuid:00000000-0000-4000-8000-000000000001';
  const entries: BundleEntry<FhirResource>[] = [
    put(orgUrl, `Organization?identifier=${encodeURIComponent(`${ODS}|E09000099`)}`, {
      resourceType: 'Organization',
      identifier: [{ system: ODS, value: 'E09000099' }],
      name: 'Example Borough Council',
    }),
    put(patientUrl, `Patient?identifier=${encodeURIComponent(`${COUNCIL_PERSON}|${p.personId}`)}`, {
      resourceType: 'Patient',
      meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] },
      identifier: [
        { system: NHS, value: p.nhsNumber },
        { system: COUNCIL_PERSON, value: p.personId },
      ],
      name: [{ family: p.family, given: ['Sam'] }],
      managingOrganization: { reference: orgUrl },
    }),
  ];
  p.events.forEach((e, i) => {
    entries.push(
      put(`urn:uuid:${p.personId}-eoc-${i}`, `EpisodeOfCare?identifier=${encodeURIComponent(`${COUNCIL_EVENT}|${e.ref}`)}`, {
        resourceType: 'EpisodeOfCare',
        identifier: [{ system: COUNCIL_EVENT, value: e.ref }],
        status: e.end ? 'finished' : 'active',
        patient: { reference: patientUrl },
        managingOrganization: { reference: orgUrl },
        period: { start: e.start, ...(e.end ? { end: e.end } : {}) },
      }),
    );
  });
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}
