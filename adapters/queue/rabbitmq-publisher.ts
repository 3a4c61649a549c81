// Publisher confirms with a bounded window: many messages in flight, a batch settled when the
// broker has confirmed all of its messages. Publishes whose channel dies before the confirm are
// sent again, in their original order, on the next channel (at-least-once: the broker may then
// hold a duplicate, which the destination's idempotency key absorbs).
import type { ConfirmChannel, Options } from 'amqplib';

export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
}

/** The caller's view of one publish call: settled once, by the last confirm or the first failure. */
interface Batch {
  remaining: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface PendingPublish {
  seq: number;
  message: OutgoingMessage;
  batch: Batch;
}

export class PublisherClosedError extends Error {}
export class PublishAbortedError extends Error {}

export class ConfirmPublisher {
  private channel: ConfirmChannel | undefined;
  /** Not yet sent, oldest first from `head` (Array.shift is O(n) on large arrays). */
  private waiting: PendingPublish[] = [];
  private head = 0;
  private inFlight = 0;
  private seq = 0;
  private blockedOnDrain = false;
  private unsorted = false;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly window: number) {}

  /** Messages accepted but not yet confirmed. */
  get pending(): number {
    return this.waiting.length - this.head + this.inFlight;
  }

  /**
   * Resolves when the broker confirmed every message; rejects on a broker nack, on close, or when
   * `signal` aborts (messages already on the wire may still arrive: at-least-once).
   */
  publish(messages: OutgoingMessage[], signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new PublisherClosedError('queue is closed'));
    if (messages.length === 0) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(new PublishAbortedError('publish aborted'));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.fail(batch, new PublishAbortedError('publish aborted before every confirm arrived'));
        // Not yet sent: drop them. In flight: their confirms are ignored.
        this.waiting = this.waiting.slice(this.head).filter((item) => item.batch !== batch);
        this.head = 0;
        this.notifyIdle();
      };
      const batch: Batch = {
        remaining: messages.length,
        settled: false,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      for (const message of messages) this.waiting.push({ seq: ++this.seq, message, batch });
      this.pump();
    });
  }

  /** Use a new confirm channel (after connect or reconnect) and send what is waiting. */
  attach(channel: ConfirmChannel): void {
    this.channel = channel;
    this.blockedOnDrain = false;
    channel.on('drain', () => {
      if (this.channel !== channel) return;
      this.blockedOnDrain = false;
      this.pump();
    });
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    this.pump();
  }

  detach(): void {
    this.channel = undefined;
  }

  /** Resolves true when nothing is waiting or in flight, false after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Fail everything not yet confirmed; later publishes are refused. */
  close(): void {
    this.closed = true;
    this.channel = undefined;
    const err = new PublisherClosedError('queue closed before the broker confirmed');
    for (const item of this.waiting.slice(this.head)) this.fail(item.batch, err);
    this.waiting = [];
    this.head = 0;
  }

  private pump(): void {
    if (this.unsorted) {
      // Publishes that came back from a dead channel go before later ones, in original order.
      this.waiting = this.waiting.slice(this.head).sort((a, b) => a.seq - b.seq);
      this.head = 0;
      this.unsorted = false;
    }
    while (this.channel && !this.blockedOnDrain && this.inFlight < this.window && this.head < this.waiting.length) {
      const item = this.waiting[this.head++];
      if (item.batch.settled) continue;
      this.send(this.channel, item);
    }
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }

  private send(channel: ConfirmChannel, item: PendingPublish): void {
    const { exchange, routingKey, content, options } = item.message;
    this.inFlight++;
    let confirmed = false;
    const onConfirm = (err: unknown): void => {
      if (confirmed) return;
      confirmed = true;
      this.inFlight--;
      if (!err) this.succeed(item.batch);
      else if (err instanceof Error && err.message === 'message nacked') this.fail(item.batch, new Error(`broker refused message ${String(options.messageId)}`));
      else {
        // Any other error means the channel is gone: keep the message for the next channel.
        if (this.channel === channel) this.channel = undefined;
        this.requeue(item);
      }
      this.pump();
      this.notifyIdle();
    };
    try {
      if (!channel.publish(exchange, routingKey, content, options, onConfirm)) this.blockedOnDrain = true;
    } catch (err) {
      // amqplib throws synchronously on a closed channel.
      onConfirm(err ?? new Error('channel closed'));
    }
  }

  private requeue(item: PendingPublish): void {
    if (item.batch.settled) return;
    if (this.closed) {
      this.fail(item.batch, new PublisherClosedError('queue closed before the broker confirmed'));
      return;
    }
    this.waiting.push(item);
    this.unsorted = true;
  }

  private succeed(batch: Batch): void {
    if (batch.settled) return;
    batch.remaining--;
    if (batch.remaining === 0) {
      batch.settled = true;
      batch.resolve();
    }
  }

  private fail(batch: Batch, err: Error): void {
    if (batch.settled) return;
    batch.settled = true;
    batch.reject(err);
  }

  private notifyIdle(): void {
    if (this.pending !== 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
