// The sandbox's CapabilityStatement: what it really supports, so a client (or a person
// reading /fhir/metadata) knows it is a development stand-in for the shared care record.
import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4.js';
import { referenceParamNames } from './search-params.js';

/** The types the social care flow writes and the viewer reads; others are stored the same way. */
export const LISTED_TYPES = [
  'Patient',
  'Organization',
  'Practitioner',
  'PractitionerRole',
  'RelatedPerson',
  'EpisodeOfCare',
  'Encounter',
  'ServiceRequest',
  'Condition',
  'CarePlan',
  'CareTeam',
  'Flag',
  'Observation',
];

function resourceEntry(type: string): CapabilityStatementRestResource {
  return {
    type: type as CapabilityStatementRestResource['type'],
    versioning: 'versioned',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalUpdate: true,
    conditionalDelete: 'single',
    interaction: ['read', 'vread', 'update', 'delete', 'history-instance', 'create', 'search-type'].map((code) => ({ code: code as 'read' })),
    searchParam: [
      { name: '_id', type: 'token' },
      { name: 'identifier', type: 'token' },
      { name: 'status', type: 'token' },
      ...referenceParamNames().map((name) => ({ name, type: 'reference' as const })),
      { name: 'patient.identifier', type: 'token', documentation: 'chained: any reference parameter followed by .identifier' },
    ],
    searchInclude: ['*'],
    searchRevInclude: ['*'],
  };
}

export function capabilityStatement(baseUrl: string): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'Tramline sandbox shared care record' },
    implementation: {
      description: 'Development stand-in for the regional shared care record (LPRES): a small FHIR R4 store inside the Tramline engine. Not for production use.',
      url: baseUrl,
    },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation: 'Transactions (POST to the base) with conditional create/update/delete and urn:uuid: references; read, vread, history; search by _id, identifier and reference parameters with _include/_revinclude (:iterate). No paging beyond _count (max 1000).',
        resource: LISTED_TYPES.map(resourceEntry),
        interaction: [{ code: 'transaction' }],
      },
    ],
  };
}
