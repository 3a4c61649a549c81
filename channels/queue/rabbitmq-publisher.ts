// Publisher confirms with a bounded window: many messages in flight, each promise settled by its
// own broker confirm. Publishes whose channel dies before the confirm are sent again, in their
// original order, on the next channel (at-least-once: the broker may then hold a duplicate).
import type { ConfirmChannel, Options } from 'amqplib';

interface PendingPublish {
  seq: number;
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class PublisherClosedError extends Error {}

export class ConfirmPublisher {
  private channel: ConfirmChannel | undefined;
  private readonly waiting: PendingPublish[] = [];
  private inFlight = 0;
  private seq = 0;
  private blockedOnDrain = false;
  private unsorted = false;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly window: number) {}

  /** Envelopes accepted but not yet confirmed. */
  get pending(): number {
    return this.waiting.length + this.inFlight;
  }

  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void> {
    if (this.closed) return Promise.reject(new PublisherClosedError('queue is closed'));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ seq: ++this.seq, exchange, routingKey, content, options, resolve, reject });
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

  /** Resolves when nothing is waiting or in flight, or after `timeoutMs`. */
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
    for (const item of this.waiting.splice(0)) item.reject(err);
  }

  private pump(): void {
    if (this.unsorted) {
      // Publishes that came back from a dead channel go before later ones, in original order.
      this.waiting.sort((a, b) => a.seq - b.seq);
      this.unsorted = false;
    }
    while (this.channel && !this.blockedOnDrain && this.inFlight < this.window && this.waiting.length > 0) {
      const item = this.waiting.shift() as PendingPublish;
      const channel = this.channel;
      this.inFlight++;
      let settled = false;
      const onConfirm = (err: unknown): void => {
        if (settled) return;
        settled = true;
        this.inFlight--;
        if (!err) item.resolve();
        else if (err instanceof Error && err.message === 'message nacked') item.reject(new Error(`broker refused message ${item.options.messageId}`));
        else {
          // Any other error means the channel is gone; wait for the next attach.
          if (this.channel === channel) this.channel = undefined;
          this.requeue(item);
        }
        this.pump();
        this.notifyIdle();
      };
      try {
        const ok = channel.publish(item.exchange, item.routingKey, item.content, item.options, onConfirm);
        if (!ok) this.blockedOnDrain = true;
      } catch (err) {
        // The channel closed under us (amqplib throws synchronously): keep the message.
        onConfirm(err ?? new Error('channel closed'));
      }
    }
  }

  private requeue(item: PendingPublish): void {
    if (this.closed) {
      item.reject(new PublisherClosedError('queue closed before the broker confirmed'));
      return;
    }
    this.waiting.push(item);
    this.unsorted = true;
  }

  private notifyIdle(): void {
    if (this.pending !== 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
