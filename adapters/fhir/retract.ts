// Retraction: a record withdrawn or sealed after it was published is taken back from the
// shared care record — each resource marked entered-in-error (read, modify, update with
// If-Match; types without that status, such as Patient, are deleted) or deleted. Shared
// reference data (the council's Organization, practitioners) is left alone. Resources are named by literal (`EpisodeOfCare/123`) or conditional
// reference (`EpisodeOfCare?identifier=system|value`), as the publishing bundle keyed them.
import type { Bundle, FhirResource } from 'fhir/r4.js';
import { DeliveryError } from '../../core/errors.js';
import type { RetractionMode } from './config.js';
import type { FhirConnection } from './connection.js';
import { statusOf } from './errors.js';

export interface RetractionResult {
  /** The reference asked for. */
  reference: string;
  /** `Type/id` acted on (absent when nothing matched). */
  target?: string;
  outcome: 'entered-in-error' | 'deleted' | 'already-retracted' | 'not-found' | 'kept-shared';
}

/**
 * Reference data many people's records point at (the council, its workers, places): never
 * retracted because one person's record was withdrawn.
 */
export const SHARED_TYPES = new Set(['Organization', 'Practitioner', 'PractitionerRole', 'Location', 'HealthcareService']);

const ENTERED_IN_ERROR = 'entered-in-error';
/** Types whose `status` has an entered-in-error code. */
const STATUS_TYPES = new Set([
  'EpisodeOfCare', 'Encounter', 'ServiceRequest', 'CarePlan', 'CareTeam', 'Flag', 'Observation', 'Procedure', 'DocumentReference',
  'DiagnosticReport', 'Task', 'Communication', 'CommunicationRequest', 'Appointment', 'Composition', 'Consent', 'MedicationRequest',
  'MedicationStatement', 'QuestionnaireResponse', 'RiskAssessment', 'Immunization', 'ClinicalImpression', 'Goal',
]);
/** Types that record it as a verification status instead. */
const VERIFICATION = {
  Condition: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  AllergyIntolerance: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
} as const;

type Json = Record<string, unknown>;

/**
 * The resource marked entered-in-error, `null` if it already is, or undefined if its type
 * has no such status (Patient, RelatedPerson, …): those are deleted instead.
 */
export function markedEnteredInError(resource: FhirResource): FhirResource | null | undefined {
  const r = structuredClone(resource) as unknown as Json;
  const type = resource.resourceType;
  if (type === 'Goal') {
    if (r.lifecycleStatus === ENTERED_IN_ERROR) return null;
    r.lifecycleStatus = ENTERED_IN_ERROR;
    return r as unknown as FhirResource;
  }
  if (STATUS_TYPES.has(type)) {
    if (r.status === ENTERED_IN_ERROR) return null;
    r.status = ENTERED_IN_ERROR;
    return r as unknown as FhirResource;
  }
  const system = VERIFICATION[type as keyof typeof VERIFICATION];
  if (system) {
    const codings = ((r.verificationStatus as Json | undefined)?.coding as Json[] | undefined) ?? [];
    if (codings.some((c) => c.code === ENTERED_IN_ERROR)) return null;
    r.verificationStatus = { coding: [{ system, code: ENTERED_IN_ERROR }] };
    delete r.clinicalStatus; // con-5 / ait-1: no clinical status on an entered-in-error record
    return r as unknown as FhirResource;
  }
  return undefined;
}

function splitReference(reference: string): { type: string; id?: string; query?: URLSearchParams } {
  const m = /^([A-Z][A-Za-z]+)(?:\/([A-Za-z0-9\-.]{1,64})|\?(.+))$/.exec(reference);
  if (!m) throw new DeliveryError(`retraction reference must be Type/id or Type?criteria`, false);
  return { type: m[1], id: m[2], query: m[3] ? new URLSearchParams(m[3]) : undefined };
}

function searchParamsOf(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of query) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

const isGone = (err: unknown) => {
  const status = err instanceof DeliveryError ? (err.detail as { status?: number } | undefined)?.status : statusOf(err);
  return status === 404 || status === 410;
};

async function idsFor(connection: FhirConnection, ref: { type: string; id?: string; query?: URLSearchParams }): Promise<string[]> {
  if (ref.id) return [ref.id];
  const bundle = (await connection.call(`GET ${ref.type} search`, (options) =>
    connection.client.search({ resourceType: ref.type, searchParams: searchParamsOf(ref.query!), options }),
  )) as unknown as Bundle;
  return (bundle.entry ?? []).filter((e) => e.search?.mode !== 'include' && e.resource?.resourceType === ref.type && e.resource.id).map((e) => e.resource!.id!);
}

async function deleteOne(connection: FhirConnection, type: string, id: string): Promise<RetractionResult['outcome']> {
  try {
    await connection.call(`DELETE ${type}`, (options) => connection.client.delete({ resourceType: type, id, options }));
    return 'deleted';
  } catch (err) {
    if (isGone(err)) return 'not-found';
    throw err;
  }
}

async function markOne(connection: FhirConnection, type: string, id: string): Promise<RetractionResult['outcome']> {
  // A concurrent update makes If-Match fail (412): read again and retry once.
  for (let attempt = 1; ; attempt++) {
    let current: FhirResource;
    try {
      current = (await connection.call(`GET ${type}`, (options) => connection.client.read({ resourceType: type, id, options }))) as unknown as FhirResource;
    } catch (err) {
      if (isGone(err)) return 'not-found';
      throw err;
    }
    const marked = markedEnteredInError(current);
    if (marked === null) return 'already-retracted';
    if (marked === undefined) return deleteOne(connection, type, id);
    const version = current.meta?.versionId;
    try {
      await connection.call(`PUT ${type}`, (options) =>
        connection.client.update({ resourceType: type, id, body: marked as never, options: { ...options, headers: { ...options.headers, ...(version ? { 'if-match': `W/"${version}"` } : {}) } } }),
      );
      return 'entered-in-error';
    } catch (err) {
      const status = err instanceof DeliveryError ? (err.detail as { status?: number } | undefined)?.status : undefined;
      if (status === 412 && attempt < 2) continue;
      throw err;
    }
  }
}

/**
 * Retract previously published resources. Resolves with what happened to each; throws a
 * DeliveryError (retryable or not, as for delivery) on the first failure — retracting is
 * idempotent, so the whole call can simply be repeated.
 */
export async function retractResources(connection: FhirConnection, references: readonly string[], mode: RetractionMode): Promise<RetractionResult[]> {
  const results: RetractionResult[] = [];
  for (const reference of references) {
    const ref = splitReference(reference);
    if (SHARED_TYPES.has(ref.type)) {
      results.push({ reference, outcome: 'kept-shared' });
      continue;
    }
    const ids = await idsFor(connection, ref);
    if (!ids.length) results.push({ reference, outcome: 'not-found' });
    for (const id of ids) {
      const outcome = mode === 'delete' ? await deleteOne(connection, ref.type, id) : await markOne(connection, ref.type, id);
      results.push({ reference, target: `${ref.type}/${id}`, outcome });
    }
  }
  return results;
}
