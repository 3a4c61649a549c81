// The contract every destination adapter fulfils. A destination delivers one envelope and
// either resolves (delivered) or throws: a DeliveryError says whether a retry can help.
import type { Envelope } from '../core/queue.js';
import type { DeliveryContent } from '../core/store.js';

/**
 * What a destination reports about a delivery, saved sealed as its own stages of the message
 * (core/store.ts): `sent`, what it sent when that is not simply the message (e.g. the FHIR
 * Bundle posted), and `response`, what came back (a transaction-response, an ACK). Only what
 * the destination has: one that reports nothing adds no write to the delivery.
 */
export type DeliveryReport = DeliveryContent;

export interface Destination {
  /** Open connections, create tables; called once before the first delivery. */
  open(): Promise<void>;
  /** Deliver one message. Must be idempotent on `envelope.messageId` (at-least-once delivery). */
  deliver(envelope: Envelope): Promise<DeliveryReport | undefined>;
  close(): Promise<void>;
}
