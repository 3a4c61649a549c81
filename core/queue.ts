// The delivery queue between a channel's intake and its destinations. Two implementations
// share these semantics: the embedded store-backed queue (single node, default) and RabbitMQ
// (`TRAMLINE_AMQP_URL`). Mechanics live here; retry *policy* is the consumer's decision.

/** One stored message on its way to destinations. */
export interface Envelope {
  /** Store id of the message; also the idempotency key downstream. */
  messageId: string;
  channel: string;
  /** Topic routing key, e.g. `hl7v2.ADT.A01.RCB`. Destinations bind with patterns (`*`, `#`). */
  routingKey: string;
  /** Messages with the same key (one person) reach a destination in publish order. */
  partitionKey: string;
  /** Content to deliver (already transformed for the channel). */
  body: string;
  /** Free-form metadata carried along (message type, sending facility, control id, ...). */
  headers: Record<string, string>;
}

/** A delivery as a consumer sees it. */
export interface Delivery {
  envelope: Envelope;
  destination: string;
  /** 1 on first delivery, incremented on each retry. */
  attempt: number;
}

/** What the consumer decided about one delivery. */
export type DeliveryOutcome =
  | { kind: 'done' }
  | { kind: 'retry'; delayMs: number; reason: string }
  | { kind: 'dead-letter'; reason: string };

export type DeliveryHandler = (delivery: Delivery) => Promise<DeliveryOutcome>;

export interface Subscription {
  /** Destination id, unique in the engine: `<channel>.<destination name>`. */
  destination: string;
  /** Topic patterns this destination receives (`hl7v2.ADT.#`). */
  bindings: string[];
  /** Maximum deliveries in flight for this destination (prefetch). */
  concurrency: number;
}

export interface DeadLetter {
  envelope: Envelope;
  destination: string;
  reason: string;
  attempts: number;
  deadLetteredAt: Date;
}

export interface DeliveryQueue {
  /** Declare topology for the given subscriptions (idempotent) and connect. */
  start(subscriptions: Subscription[]): Promise<void>;
  /** Resolves only when the envelope is durable (store commit or broker confirm). */
  publish(envelopes: Envelope[]): Promise<void>;
  /**
   * Only a queue kept in the message store's own database (the embedded queue) has this:
   * publish in the same commit as the messages' `receive`, called in the same turn of the
   * event loop just after it. An envelope whose message the receive did not store (a
   * duplicate, or a failed write) is not queued. Resolves once durable, like `publish`, with
   * the envelopes it queued.
   */
  publishWithReceive?(envelopes: Envelope[]): Promise<Envelope[]>;
  /** Start delivering to `handler`; at-least-once, per-partition order. */
  consume(destination: string, handler: DeliveryHandler): Promise<void>;
  /** Dead letters of one destination, oldest first. */
  listDeadLetters(destination: string, limit?: number): Promise<DeadLetter[]>;
  /** Move dead letters (all, or those of the given message ids) back onto the queue. */
  replayDeadLetters(destination: string, messageIds?: string[]): Promise<number>;
  /** Remove dead letters of the given message ids for good (the caller records why). */
  discardDeadLetters(destination: string, messageIds: string[]): Promise<number>;
  /** Messages waiting (including retrying) per destination. */
  depth(destination: string): Promise<number>;
  /** Stop consuming, wait for in-flight handlers, close connections. */
  close(): Promise<void>;
}

/** AMQP topic match: `*` is one word, `#` is zero or more words. */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1));
    if (j === k.length) return false;
    return (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}
