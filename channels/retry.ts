// Retry policy: what to do with a failed delivery. Permanent errors dead-letter at once;
// retryable ones back off exponentially (with jitter, so a recovering system is not hit by
// every queued message at the same instant) until the attempt limit.
import type { RetryPolicy } from './definition.js';
import { DeliveryError, reasonOf } from '../core/errors.js';
import type { DeliveryOutcome } from '../core/queue.js';

export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1));
  // ±20 % jitter, never above the cap.
  return Math.min(policy.maxDelayMs, Math.round(base * (0.8 + 0.4 * random())));
}

/** Decide the outcome of a failed delivery attempt (`attempt` is 1-based). */
export function outcomeForFailure(err: unknown, attempt: number, policy: RetryPolicy): DeliveryOutcome {
  const reason = reasonOf(err);
  // Anything not classified is treated as retryable: a bug or outage should not lose data.
  const retryable = err instanceof DeliveryError ? err.retryable : true;
  if (!retryable) return { kind: 'dead-letter', reason: `permanent: ${reason}` };
  if (attempt >= policy.maxAttempts) return { kind: 'dead-letter', reason: `gave up after ${attempt} attempts: ${reason}` };
  const hinted = err instanceof DeliveryError ? err.retryAfterMs : undefined;
  const delayMs = hinted !== undefined ? Math.min(policy.maxDelayMs, hinted) : backoffDelay(policy, attempt);
  return { kind: 'retry', delayMs, reason };
}
