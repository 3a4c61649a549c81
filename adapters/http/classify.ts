// What an HTTP answer means for delivery: delivered, worth retrying, or permanent. Error
// messages carry the status line and, from a FHIR OperationOutcome, only issue codes and
// short diagnostics — never the rest of the response, which may echo patient data.

/**
 * The low-level cause of a request that got no answer (e.g. ECONNREFUSED), without request
 * details: node:http puts the code on the error, fetch on its cause.
 */
export function failureCause(err: unknown): string {
  const { code, message, cause } = (err ?? {}) as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return code ?? cause?.code ?? cause?.message ?? message ?? String(err);
}

/** Statuses that say "not now" rather than "never": timeouts, too early, rate limits, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** `Retry-After` as milliseconds from `now` (delta seconds or an HTTP date); undefined if absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

const MAX_EXCERPT = 200;

function cut(text: string, max = MAX_EXCERPT): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export interface OutcomeIssue {
  severity?: string;
  code?: string;
  diagnostics?: string;
}

/** Issues of a FHIR OperationOutcome body; [] for anything else. */
export function operationOutcomeIssues(body: string): OutcomeIssue[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  const outcome = parsed as { resourceType?: unknown; issue?: unknown };
  if (outcome?.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) return [];
  return outcome.issue.slice(0, 10).map((i: Record<string, unknown>) => ({
    severity: typeof i?.severity === 'string' ? i.severity : undefined,
    code: typeof i?.code === 'string' ? i.code : undefined,
    diagnostics: typeof i?.diagnostics === 'string' ? i.diagnostics : undefined,
  }));
}

/** `HTTP 400 Bad Request` plus, for an OperationOutcome, `(invalid: NHS number …; …)` within 200 characters. */
export function describeResponse(status: number, statusText: string, body: string): string {
  const line = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  const issues = operationOutcomeIssues(body);
  if (!issues.length) return line;
  const summary = issues.map((i) => [i.code, i.diagnostics].filter(Boolean).join(': ')).filter(Boolean).join('; ');
  return summary ? `${line} (${cut(summary)})` : line;
}
