// The sandbox's CapabilityStatement: what it really supports, so a client (or a person
// reading /fhir/metadata) knows it is a development stand-in for the shared care record.
import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4.js';
import { dateParamNames, hasStatusParam, LISTED_TYPES, referenceParamNames, stringParamNames } from './search-params.js';

type SearchParam = NonNullable<CapabilityStatementRestResource['searchParam']>[number];

/** Exactly the parameters search accepts on this type (search-params.ts), so a client never relies on one that is refused. */
function searchParams(type: string): SearchParam[] {
  return [
    { name: '_id', type: 'token' },
    { name: 'identifier', type: 'token' },
    ...(hasStatusParam(type) ? [{ name: 'status', type: 'token' as const }] : []),
    ...stringParamNames(type).map((name) => ({ name, type: 'string' as const, documentation: 'case- and accent-insensitive starts-with; :exact and :contains' })),
    ...dateParamNames(type).map((name) => ({ name, type: 'date' as const, documentation: 'prefixes eq ne lt gt le ge sa eb; YYYY, YYYY-MM or YYYY-MM-DD' })),
    ...referenceParamNames(type).map((name) => ({ name, type: 'reference' as const, documentation: 'Type/id; chained .identifier (e.g. patient.identifier=system|value)' })),
  ];
}

function resourceEntry(type: string): CapabilityStatementRestResource {
  return {
    type: type as CapabilityStatementRestResource['type'],
    versioning: 'versioned',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalUpdate: true,
    conditionalDelete: 'single',
    interaction: ['read', 'vread', 'update', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map((code) => ({ code: code as 'read' })),
    searchParam: searchParams(type),
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
        documentation:
          'Transactions (POST to the base) with conditional create/update/delete and urn:uuid: references; read, vread; instance, type and system history (paged with _count and _offset, _since); search by the parameters listed per type with _include/_revinclude (:iterate). Search has no paging beyond _count (max 1000). JSON only.',
        security: {
          cors: false,
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR', display: 'SMART-on-FHIR' }], text: 'OAuth2 bearer token' }],
          description:
            'Every interaction except this CapabilityStatement needs Authorization: Bearer <token>: a Tramline API token or a JWT from the configured OAuth2/OpenID issuer (SMART on FHIR access token). Reads need the clinician or admin role, writes the engineer or admin role; every read of a person is audited as a record view with X-Purpose-Of-Use.',
        },
        resource: LISTED_TYPES.map(resourceEntry),
        interaction: [{ code: 'transaction' }, { code: 'history-system' }],
      },
    ],
  };
}
