// Publishing a message before its store commit has finished (RabbitMQ): the intake starts the
// broker publish and the store write together and ACKs once both are done, so the sender waits
// for the slower of the two round trips instead of both, one after the other. Store-before-ACK
// still holds: the ACK waits for the commit. What changes is the consumer's side: it can be
// handed a message whose store write is still under way, or failed, or found the message a
// duplicate — a message the sender was never ACKed for and will send again. Such an envelope is
// marked (STORED_AFTER_PUBLISH); a consumer delivers it only once the message is found stored,
// and discards it when it is still not stored after DISCARD_AFTER_MS (docs/durability.md).
//
// Why the bound is safe: the intake publishes a second copy, unmarked, before it ACKs, when its
// store write took longer than REPUBLISH_AFTER_MS (well under the consumer's bound) after the
// publish started. So a message that gets ACKed was either stored within REPUBLISH_AFTER_MS of
// its publish — before any consumer, which starts its clock on first sight (after the publish),
// can have given up on it — or has a copy that needs no check.
import { performance } from 'node:perf_hooks';
import { log } from '../core/logger.js';
import type { MessageStore } from '../core/store.js';
import type { Envelope } from '../core/queue.js';

/** Envelope header marking a message published before its store write finished. */
export const STORED_AFTER_PUBLISH = 'storedAfterPublish';

/** A consumer discards a marked message not found stored for this long (its first look on). */
export const DISCARD_AFTER_MS = 10_000;

/** The intake publishes an unmarked copy before its ACK when its store write took longer than this. */
export const REPUBLISH_AFTER_MS = 2_000;

/** Waits between looks in the store for a marked message not stored yet. */
const LOOK_AGAIN_MS = [5, 10, 20, 50, 100, 200, 500, 1000];

/** Forget what an intake settled after this long: a consumer asks within milliseconds, else looks in the store. */
const REMEMBER_MS = 30_000;

/**
 * In one engine process, what the intake knows of its own store writes: the consumer asks here
 * first and looks in the store only for what this process did not write (another engine, or
 * before a restart). Entries go when asked for, or after REMEMBER_MS.
 */
export class PendingReceives {
  private current = new Map<string, Promise<boolean>>();
  private previous = new Map<string, Promise<boolean>>();
  private rotatedAt = performance.now();

  /**
   * `stored` resolves true once the message is committed, false when the store found it a
   * duplicate (nothing stored under this id); it rejects when the write failed, which leaves the
   * answer to the store (a write can fail after its commit: the backlog then queues it).
   */
  track(messageId: string, stored: Promise<boolean>): void {
    // A failed write nobody asks about (its publish failed too) must not be an unhandled rejection.
    stored.catch(() => undefined);
    this.rotate();
    this.current.set(messageId, stored);
  }

  /** What this process knows: a promise of "stored", or undefined when it did not write the message. */
  take(messageId: string): Promise<boolean> | undefined {
    const found = this.current.get(messageId) ?? this.previous.get(messageId);
    if (found) {
      this.current.delete(messageId);
      this.previous.delete(messageId);
    }
    return found;
  }

  private rotate(): void {
    const now = performance.now();
    if (now - this.rotatedAt < REMEMBER_MS) return;
    this.previous = this.current;
    this.current = new Map();
    this.rotatedAt = now;
  }
}

/** The envelope marked as published before its message was stored. */
export function markStoredAfterPublish(envelope: Envelope): Envelope {
  return { ...envelope, headers: { ...envelope.headers, [STORED_AFTER_PUBLISH]: '1' } };
}

/** The envelope without the mark (a copy published once the message is known to be stored). */
export function unmarked(envelope: Envelope): Envelope {
  const { [STORED_AFTER_PUBLISH]: _mark, ...headers } = envelope.headers;
  return { ...envelope, headers };
}

/**
 * For a consumer: true when `envelope` may be delivered — it is not marked, or its message is
 * stored. False when a marked message is still not stored after DISCARD_AFTER_MS: it is then
 * to be dropped (acknowledged to the queue, not delivered). Throws when the store cannot be
 * read (the queue retries the delivery later; no clock runs out meanwhile).
 */
export async function storedForDelivery(
  envelope: Envelope,
  store: Pick<MessageStore, 'isStored'>,
  pending: PendingReceives | undefined,
  destination: string,
  options: { discardAfterMs?: number } = {},
): Promise<boolean> {
  const discardAfterMs = options.discardAfterMs ?? DISCARD_AFTER_MS;
  if (envelope.headers[STORED_AFTER_PUBLISH] !== '1') return true;
  const id = envelope.messageId;
  // Written by this process: its own answer, no query. `false` is final (a duplicate).
  const known = await pending?.take(id)?.catch(() => undefined);
  if (known === true) return true;
  const started = performance.now();
  for (let look = 0; ; look++) {
    if (known === undefined && (await store.isStored(id))) return true;
    if (known === false || performance.now() - started >= discardAfterMs) {
      // The sender was not acknowledged for it under this id and sends it again: nothing is lost.
      log.warn({ messageId: id, destination }, 'queued message was never stored; discarded, not delivered');
      return false;
    }
    await new Promise((r) => setTimeout(r, LOOK_AGAIN_MS[Math.min(look, LOOK_AGAIN_MS.length - 1)]));
  }
}
