// The consumer side of one destination: filter, deliver, record the outcome with what the
// destination reported it sent and got back (sealed, as that destination's stages of the
// message, in the same write), and turn a failure into a retry or a dead letter by the
// destination's retry policy.
import { parseHl7 } from '../adapters/hl7v2/parse.js';
import type { Destination } from '../adapters/types.js';
import { log } from '../core/logger.js';
import type { DeliveryContent, MessageStore } from '../core/store.js';
import type { MessageFilter, RetryPolicy } from './definition.js';
import { hl7Matches } from './filter.js';
import type { Delivery, DeliveryHandler, DeliveryOutcome, Envelope } from '../core/queue.js';
import { DeliveryError } from '../core/errors.js';
import { outcomeForFailure } from './retry.js';
import { storedForDelivery, type PendingReceives } from './stored-after-publish.js';

/** How long recording a successful delivery may wait to share its upsert with others. */
const SENT_STATUS_LINGER_MS = 5;

export interface DispatchOptions {
  destinationId: string;
  destination: Destination;
  store: MessageStore;
  retry: RetryPolicy;
  filter?: MessageFilter;
  /** The destination's own mapping (destination-map.ts), applied after its filter. */
  map?: (envelope: Envelope) => Promise<Envelope>;
  /** This process's store writes of messages published before they were stored (stored-after-publish.ts). */
  pendingReceives?: PendingReceives;
  /** Observer for metrics and tests; never sees content. */
  onOutcome?: (delivery: Delivery, outcome: DeliveryOutcome | { kind: 'filtered' }) => void;
}

function passesFilter(filter: MessageFilter | undefined, body: string): boolean {
  if (!filter) return true;
  try {
    return hl7Matches(filter, parseHl7(body));
  } catch {
    return true; // unparseable content was rejected at intake; let the destination decide
  }
}

/** The remote system's own account of a failure (e.g. a FHIR OperationOutcome), when the destination kept one. */
function failureContent(err: unknown): DeliveryContent | undefined {
  if (!(err instanceof DeliveryError) || !err.detail || typeof err.detail !== 'object') return undefined;
  const outcome = (err.detail as { operationOutcome?: unknown }).operationOutcome;
  return outcome === undefined ? undefined : { response: JSON.stringify(outcome) };
}

/** A report worth a write: undefined when the destination reported nothing. */
function reported(report: DeliveryContent | undefined): DeliveryContent | undefined {
  return report && (report.sent !== undefined || report.response !== undefined) ? report : undefined;
}

export function createDispatcher(opts: DispatchOptions): DeliveryHandler {
  const { destinationId, destination, store, retry, filter } = opts;
  return async (delivery) => {
    const { envelope, attempt } = delivery;
    const messageId = envelope.messageId;
    // Published before its message was stored: delivered once it is, dropped if it never is
    // (its sender had no ACK for it and sends it again). Nothing to record: no message row.
    if (!(await storedForDelivery(envelope, store, opts.pendingReceives, destinationId))) return { kind: 'done' };
    if (!passesFilter(filter, envelope.body)) {
      await store.setDestinationStatus(messageId, destinationId, 'filtered', { attempts: attempt, recordEvent: true });
      opts.onOutcome?.(delivery, { kind: 'filtered' });
      return { kind: 'done' };
    }
    let outcome: DeliveryOutcome;
    try {
      const content = reported(await destination.deliver(opts.map ? await opts.map(envelope) : envelope));
      // Delivered: recording it only holds back the broker ack, so it may share a statement.
      await store.setDestinationStatus(messageId, destinationId, 'sent', { attempts: attempt, lingerMs: SENT_STATUS_LINGER_MS, recordEvent: true, content });
      outcome = { kind: 'done' };
    } catch (err) {
      outcome = outcomeForFailure(err, attempt, retry);
      const status = outcome.kind === 'retry' ? 'retrying' : 'dead-lettered';
      const reason = outcome.kind === 'done' ? undefined : outcome.reason;
      // Keep what the far end said, sealed like all content, with the failure.
      await store.setDestinationStatus(messageId, destinationId, status, { attempts: attempt, error: reason, recordEvent: true, content: failureContent(err) });
      log.warn({ messageId, destination: destinationId, attempt, outcome: outcome.kind }, 'delivery failed');
    }
    opts.onOutcome?.(delivery, outcome);
    return outcome;
  };
}
