// The embedded delivery queue: the DeliveryQueue contract kept in the store's own database
// (`queue_items`, `dead_letters`), for single-node installs without RabbitMQ. A publish is one
// transaction (group-committed with concurrent publishes) and resolves once durable; consumers
// are woken in-process at once and also poll as a safety net.
import { topicMatches, type DeadLetter, type DeliveryHandler, type DeliveryQueue, type Envelope, type Subscription } from './types.js';
import type { Insertable, Kysely } from 'kysely';
import type { ContentKeyRing } from '../../server/store/crypto.js';
import type { Db } from '../../server/store/db.js';
import { GroupCommitter, type BulkWrite } from '../../server/store/group-commit.js';
import type { QueueItemsTable, StoreDatabase } from '../../server/store/schema.js';
import { DestinationConsumer } from './embedded-consumer.js';
import { sealedColumnsOf, toEnvelope, toQueueItem } from './embedded-rows.js';

export interface EmbeddedQueueOptions {
  /** Keys that seal queued payloads (the store's content keys). */
  keys: ContentKeyRing;
  /** How often consumers look for work nobody woke them for (default 1000 ms). */
  pollIntervalMs?: number;
  /** Most rows written per group-commit transaction (default 500 publishes / outcomes). */
  maxBatch?: number;
}

const ROW_CHUNK = 200;
const DEFAULT_DEAD_LETTER_LIMIT = 100;

const insertItems: BulkWrite<StoreDatabase, Insertable<QueueItemsTable>[], void> = {
  name: 'queue-publish',
  async apply(trx, batches) {
    const rows = batches.flat();
    for (let i = 0; i < rows.length; i += ROW_CHUNK) await trx.insertInto('queue_items').values(rows.slice(i, i + ROW_CHUNK)).execute();
    return batches.map(() => undefined);
  },
};

export class EmbeddedQueue implements DeliveryQueue {
  private readonly kysely: Kysely<StoreDatabase>;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly consumers = new Map<string, DestinationConsumer>();
  /** One publish transaction at a time, so commit order (and seq order) is publish order. */
  private readonly publishes: GroupCommitter<StoreDatabase>;
  private readonly outcomes: GroupCommitter<StoreDatabase>;
  private readonly pollIntervalMs: number;
  private started = false;
  private closed = false;

  /** `db` must be migrated (server/store/migrations). The queue does not close it. */
  constructor(
    db: Db<StoreDatabase>,
    private readonly options: EmbeddedQueueOptions,
  ) {
    this.kysely = db.kysely;
    const maxBatch = options.maxBatch ?? 500;
    this.publishes = new GroupCommitter(db.kysely, { maxBatch, maxConcurrent: 1 });
    this.outcomes = new GroupCommitter(db.kysely, { maxBatch, maxConcurrent: db.dialect === 'postgres' ? 2 : 1 });
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
  }

  /** Register (or update) destinations and their bindings; may be called again on reload. */
  async start(subscriptions: Subscription[]): Promise<void> {
    for (const s of subscriptions) {
      if (!Number.isInteger(s.concurrency) || s.concurrency < 1) throw new Error(`destination ${s.destination}: concurrency must be a positive integer`);
      this.subscriptions.set(s.destination, { ...s, bindings: [...s.bindings] });
    }
    this.started = true;
  }

  async publish(envelopes: Envelope[]): Promise<void> {
    if (!this.started) throw new Error('embedded queue: publish before start(): no destinations are bound');
    if (this.closed) throw new Error('embedded queue is closed');
    const now = Date.now();
    const rows: Insertable<QueueItemsTable>[] = [];
    const touched = new Set<string>();
    for (const envelope of envelopes) {
      for (const sub of this.subscriptions.values()) {
        if (!sub.bindings.some((pattern) => topicMatches(pattern, envelope.routingKey))) continue;
        rows.push(toQueueItem(this.options.keys, envelope, sub.destination, now));
        touched.add(sub.destination);
      }
    }
    if (rows.length === 0) return;
    await this.publishes.submit(insertItems, rows);
    for (const destination of touched) this.consumers.get(destination)?.wake();
  }

  async consume(destination: string, handler: DeliveryHandler): Promise<void> {
    if (this.closed) throw new Error('embedded queue is closed');
    const sub = this.subscriptions.get(destination);
    if (!sub) throw new Error(`embedded queue: unknown destination ${destination} (not in start())`);
    if (this.consumers.has(destination)) throw new Error(`embedded queue: destination ${destination} already has a consumer`);
    this.consumers.set(
      destination,
      new DestinationConsumer({
        kysely: this.kysely,
        keys: this.options.keys,
        outcomes: this.outcomes,
        destination,
        concurrency: sub.concurrency,
        handler,
        pollIntervalMs: this.pollIntervalMs,
      }),
    );
  }

  async listDeadLetters(destination: string, limit = DEFAULT_DEAD_LETTER_LIMIT): Promise<DeadLetter[]> {
    const rows = await this.kysely
      .selectFrom('dead_letters')
      .selectAll()
      .where('destination', '=', destination)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      envelope: toEnvelope(this.options.keys, r),
      destination: r.destination,
      reason: r.reason,
      attempts: r.attempts,
      deadLetteredAt: new Date(r.dead_lettered_at),
    }));
  }

  /** Re-queue dead letters (oldest first) with attempt 1; they join the end of their partition. */
  async replayDeadLetters(destination: string, messageIds?: string[]): Promise<number> {
    if (messageIds !== undefined && messageIds.length === 0) return 0;
    const moved = await this.publishes.run(async (trx) => {
      let query = trx.selectFrom('dead_letters').selectAll().where('destination', '=', destination);
      if (messageIds !== undefined) query = query.where('message_id', 'in', messageIds);
      const letters = await query.orderBy('seq').execute();
      const now = Date.now();
      for (let i = 0; i < letters.length; i += ROW_CHUNK) {
        const chunk = letters.slice(i, i + ROW_CHUNK);
        await trx
          .insertInto('queue_items')
          .values(chunk.map((l) => ({ ...sealedColumnsOf(l), attempt: 1, available_at: now, enqueued_at: now })))
          .execute();
        await trx
          .deleteFrom('dead_letters')
          .where(
            'seq',
            'in',
            chunk.map((l) => l.seq),
          )
          .execute();
      }
      return letters.length;
    });
    if (moved > 0) this.consumers.get(destination)?.wake();
    return moved;
  }

  /** Items not yet done for a destination: waiting, retrying or in flight. */
  async depth(destination: string): Promise<number> {
    const row = await this.kysely
      .selectFrom('queue_items')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('destination', '=', destination)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Stop handing out work, wait for running handlers and their outcomes to be recorded. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.consumers.values()].map((c) => c.close()));
    await Promise.all([this.publishes.drain(), this.outcomes.drain()]);
  }
}
