// Consumer acks in bulk. Deliveries on one channel finish out of order (one chain per
// partition key, in-place retries), so a finished delivery's ack waits for the end of the
// current turn of the event loop; then the longest run of finished deliveries at the front of
// the channel goes out as one `multiple` ack. On a quorum queue every ack frame is a command in
// the queue's log, so this saves the broker (and the engine) most of that work. A finished
// delivery stuck behind an unfinished one (a slow key, a retry waiting) is acked on its own
// after `stragglerMs`, so it never holds a prefetch slot for long.
import type { Channel, Message } from 'amqplib';

export class AckBatcher {
  /** Deliveries received and not yet acked, in delivery-tag order from `head`. */
  private order: Message[] = [];
  private head = 0;
  /** Finished deliveries whose ack has not gone out yet, by tag. */
  private readonly finished = new Map<number, Message>();
  /** Tags settled by a frame of their own (nack, or a straggler's ack): skipped by the run. */
  private readonly settledApart = new Set<number>();
  private scheduled = false;
  private stragglers: NodeJS.Timeout | undefined;
  private discarded = false;

  constructor(
    private readonly channel: Pick<Channel, 'ack' | 'nack'>,
    private readonly stragglerMs = 20,
  ) {}

  /** A delivery arrived (tags only grow on a channel). */
  received(msg: Message): void {
    this.order.push(msg);
  }

  /** Ack this delivery, together with others, before the next turn of the event loop ends. */
  ack(msg: Message): void {
    if (this.discarded) return;
    this.finished.set(msg.fields.deliveryTag, msg);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sendRun();
    });
  }

  /** Reject without requeue (to the dead-letter exchange), at once. */
  reject(msg: Message): void {
    if (this.discarded) return;
    this.settledApart.add(msg.fields.deliveryTag);
    this.send(() => this.channel.nack(msg, false, false));
  }

  /** Send every pending ack now: before a partition is given up or the channel closed. */
  flush(): void {
    this.sendRun();
    this.sendStragglers();
  }

  /** The channel is gone: the broker has taken back everything unacked. */
  discard(): void {
    this.discarded = true;
    clearTimeout(this.stragglers);
    this.order = [];
    this.head = 0;
    this.finished.clear();
    this.settledApart.clear();
  }

  private sendRun(): void {
    if (this.discarded) return;
    let last: Message | undefined;
    let count = 0;
    while (this.head < this.order.length) {
      const msg = this.order[this.head];
      const tag = msg.fields.deliveryTag;
      if (this.settledApart.delete(tag)) {
        this.head++;
        continue;
      }
      if (!this.finished.delete(tag)) break;
      last = msg;
      count++;
      this.head++;
    }
    if (this.head === this.order.length) {
      this.order = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    if (last) {
      const upTo = last;
      this.send(() => this.channel.ack(upTo, count > 1));
    }
    if (this.finished.size > 0) this.stragglers ??= setTimeout(() => this.sendStragglers(), this.stragglerMs).unref();
  }

  private sendStragglers(): void {
    clearTimeout(this.stragglers);
    this.stragglers = undefined;
    if (this.discarded) return;
    for (const [tag, msg] of this.finished) {
      this.settledApart.add(tag);
      this.send(() => this.channel.ack(msg));
    }
    this.finished.clear();
  }

  private send(frame: () => void): void {
    try {
      frame();
    } catch {
      // Channel already closed: the broker requeued the message; it will come again.
    }
  }
}
