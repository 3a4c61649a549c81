// FHIR errors and OperationOutcome bodies. Diagnostics name resource types, element paths
// and search parameter names, never values: an identifier value is patient data.
import type { OperationOutcome } from 'fhir/r4.js';

export type IssueCode = OperationOutcome['issue'][number]['code'];

export class FhirError extends Error {
  constructor(
    readonly status: number,
    readonly code: IssueCode,
    message: string,
    /** Further diagnostics, e.g. one per validation problem. */
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

export function operationOutcome(severity: 'error' | 'warning' | 'information', code: IssueCode, diagnostics: readonly string[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: diagnostics.map((d) => ({ severity, code, diagnostics: d })),
  };
}

export function outcomeOf(err: FhirError): OperationOutcome {
  return operationOutcome('error', err.code, [err.message, ...err.details.slice(0, 50)]);
}

export const badRequest = (message: string) => new FhirError(400, 'invalid', message);
export const notFound = (message: string) => new FhirError(404, 'not-found', message);
export const gone = (message: string) => new FhirError(410, 'deleted', message);
export const preconditionFailed = (message: string) => new FhirError(412, 'conflict', message);
export const unprocessable = (message: string, details: readonly string[] = []) => new FhirError(422, 'processing', message, details);
