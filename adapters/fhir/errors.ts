// What a failed FHIR call means for delivery. fhir-kit-client throws errors carrying
// `response.status`, `response.data` (usually an OperationOutcome) and `config.headers`;
// fetch throws TimeoutError / TypeError for timeouts and connection failures. Reasons keep
// issue codes and trimmed diagnostics only; the whole OperationOutcome goes in `detail`.
import type { OperationOutcome } from 'fhir/r4.js';
import { DeliveryError } from '../../core/errors.js';
import { describeResponse, failureCause, isRetryableStatus, retryAfterMs } from '../http/classify.js';

interface FhirKitError {
  response?: { status?: number; data?: unknown };
  config?: { headers?: Headers };
}

export interface FhirFailureDetail {
  status?: number;
  operationOutcome?: OperationOutcome;
}

export function statusOf(err: unknown): number | undefined {
  const status = (err as FhirKitError)?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * A remote server's diagnostics may quote what it rejected (an NHS number, a date of birth):
 * long digit runs are masked before they reach the recorded reason. The full outcome stays
 * in `detail`.
 */
export function maskNumbers(text: string): string {
  return text.replace(/\d[\d -]{4,}\d/g, (m) => (m.replace(/\D/g, '').length >= 6 ? '#' : m));
}

/** A DeliveryError for any failure of a FHIR request to `target` (method + URL without query). */
export function deliveryErrorFor(err: unknown, target: string, timeoutMs: number): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const name = (err as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return new DeliveryError(`${target}: no response within ${timeoutMs} ms`, true);
  const status = statusOf(err);
  if (status === undefined) return new DeliveryError(`${target} failed: ${failureCause(err)}`, true);
  const data = (err as FhirKitError).response?.data;
  const outcome = data && typeof data === 'object' && (data as { resourceType?: unknown }).resourceType === 'OperationOutcome' ? (data as OperationOutcome) : undefined;
  const detail: FhirFailureDetail = { status, ...(outcome ? { operationOutcome: outcome } : {}) };
  const summary = `${target}: ${maskNumbers(describeResponse(status, '', outcome ? JSON.stringify(outcome) : ''))}`;
  if (isRetryableStatus(status)) {
    return new DeliveryError(summary, true, detail, retryAfterMs((err as FhirKitError).config?.headers?.get?.('retry-after')));
  }
  return new DeliveryError(summary, false, detail);
}
