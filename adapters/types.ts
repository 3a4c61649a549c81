// The contract every destination adapter fulfils. A destination delivers one envelope and
// either resolves (delivered) or throws: a DeliveryError says whether a retry can help.
import type { Envelope } from '../core/queue.js';

export interface Destination {
  /** Open connections, create tables; called once before the first delivery. */
  open(): Promise<void>;
  /** Deliver one message. Must be idempotent on `envelope.messageId` (at-least-once delivery). */
  deliver(envelope: Envelope): Promise<void>;
  close(): Promise<void>;
}
