// Stored-but-not-queued messages: the intake stores first and queues second, so a crash or
// a broker outage between the two leaves messages in status `received`. The backlog
// publisher finds them (at start, when the queue comes back, and periodically) and queues
// them; destinations are idempotent on the message id, so a message queued twice is
// delivered once.
import { parseHl7 } from '../adapters/hl7v2/parse.js';
import { log } from '../server/logger.js';
import type { MessageStore } from '../server/store/message-store.js';
import { decodeHl7Bytes } from '../adapters/hl7v2/charset.js';
import { reasonOf } from './errors.js';
import { hl7Envelope } from './hl7-intake.js';
import type { DeliveryQueue } from './queue/types.js';

const BATCH = 500;

export class BacklogPublisher {
  private running?: Promise<number>;

  constructor(
    private readonly store: MessageStore,
    private readonly queue: DeliveryQueue,
    private readonly channels: string[],
  ) {}

  /** Queue every message received before `before` and still unqueued. Returns how many. */
  run(before: Date = new Date()): Promise<number> {
    this.running ??= this.drain(before).finally(() => (this.running = undefined));
    return this.running;
  }

  private async drain(before: Date): Promise<number> {
    let total = 0;
    for (const channel of this.channels) {
      for (;;) {
        const pending = await this.store.list({ channel, status: 'received', to: before, limit: BATCH, oldestFirst: true });
        if (!pending.length) break;
        for (const m of pending) {
          const raw = await this.store.readContent(m.id, 'raw');
          if (!raw) {
            await this.store.setStatus(m.id, 'errored', 'content missing (pruned?)');
            continue;
          }
          try {
            const text = decodeHl7Bytes(raw).text;
            await this.queue.publish([hl7Envelope(channel, m.id, text, parseHl7(text), m.receivedAt)]);
            await this.store.setStatus(m.id, 'queued');
            await this.store.addEvent(m.id, 'queued', { detail: 'from backlog' });
            total++;
          } catch (err) {
            log.warn({ channel, messageId: m.id, reason: reasonOf(err) }, 'backlog publish failed; will retry');
            return total;
          }
        }
        if (pending.length < BATCH) break;
      }
    }
    if (total) log.info({ count: total }, 'backlog queued');
    return total;
  }
}
