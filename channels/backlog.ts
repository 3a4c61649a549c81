// Stored-but-not-queued messages: the intake stores first and queues second, so a crash or
// a broker outage between the two leaves messages in status `received`. The backlog
// publisher finds them (at start, when the queue comes back, and periodically) and queues
// them; destinations are idempotent on the message id, so a message queued twice is
// delivered once.
import { log } from '../core/logger.js';
import type { MessageStore } from '../core/store.js';
import type { ChannelDefinition } from './definition.js';
import { destinationsFor } from './routing.js';
import { reasonOf, TramlineError } from '../core/errors.js';
import { ContentGoneError, envelopeForStored } from './republish.js';
import type { DeliveryQueue } from '../core/queue.js';

const BATCH = 500;

export class BacklogPublisher {
  private running?: Promise<number>;

  constructor(
    private readonly store: MessageStore,
    private readonly queue: DeliveryQueue,
    private channels: ReadonlyMap<string, ChannelDefinition>,
  ) {}

  /** After a redeploy: the channels to look after from now on. */
  setChannels(channels: ReadonlyMap<string, ChannelDefinition>): void {
    this.channels = channels;
  }

  /** Queue every message received before `before` and still unqueued. Returns how many. */
  run(before: Date = new Date()): Promise<number> {
    this.running ??= this.drain(before).finally(() => (this.running = undefined));
    return this.running;
  }

  private async drain(before: Date): Promise<number> {
    let total = 0;
    for (const channel of this.channels.keys()) {
      for (;;) {
        const pending = await this.store.list({ channel, status: 'received', to: before, limit: BATCH, oldestFirst: true });
        if (!pending.length) break;
        for (const m of pending) {
          try {
            const definition = this.channels.get(channel);
            const envelope = await envelopeForStored(this.store, definition, m);
            await this.queue.publish([envelope]);
            const destinations = definition ? destinationsFor(definition, envelope.routingKey) : [];
            await this.store.setStatus(m.id, 'queued', undefined, { destinations, detail: 'from backlog' });
            // Without destinations setStatus writes no event of its own.
            if (!destinations.length) await this.store.addEvent(m.id, 'queued', { detail: 'from backlog' });
            total++;
          } catch (err) {
            if (err instanceof ContentGoneError || err instanceof TramlineError) {
              // Nothing to send, or content that will never map: an error, not a retry.
              await this.store.setStatus(m.id, 'errored', reasonOf(err));
              continue;
            }
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
