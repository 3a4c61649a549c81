// The embedded delivery queue: the DeliveryQueue contract kept in the store's own database
// (`queue_items`, `dead_letters`), for single-node installs without RabbitMQ. A publish is one
// transaction (group-committed with concurrent publishes) and resolves once durable; consumers
// are woken in-process at once and also poll as a safety net.
import { topicMatches, type DeadLetter, type DeliveryHandler, type DeliveryQueue, type Envelope, type Subscription } from '../../core/queue.js';
import { sql, type Kysely } from 'kysely';
import type { ContentKeyRing } from '../store/crypto.js';
import type { Db } from '../store/db.js';
import { GroupCommitter, type BulkWrite } from '../store/group-commit.js';
import { sqliteWriter } from '../store/shared-writer.js';
import type { StoreDatabase } from '../store/schema.js';
import { DestinationConsumer } from './embedded-consumer.js';
import { toEnvelope, toQueueItem } from './embedded-rows.js';
import { publishItems, publishStoredItems, replayDeadLetters, type NewQueueItem } from './embedded-writes.js';

export interface EmbeddedQueueOptions {
  /** Keys that seal queued payloads (the store's content keys). */
  keys: ContentKeyRing;
  /** How often consumers look for work nobody woke them for (default 1000 ms). */
  pollIntervalMs?: number;
  /** Most rows written per group-commit transaction (default 500 publishes / outcomes). */
  maxBatch?: number;
}

const DEFAULT_DEAD_LETTER_LIMIT = 100;

export class EmbeddedQueue implements DeliveryQueue {
  private readonly kysely: Kysely<StoreDatabase>;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly consumers = new Map<string, DestinationConsumer>();
  /**
   * The single writer: one transaction at a time keeps commit order (and so seq order) equal to
   * publish order and keeps partition heads exact; concurrent writes share that transaction.
   */
  private readonly writes: GroupCommitter<StoreDatabase>;
  private readonly pollIntervalMs: number;
  /** Writes through the SQLite database's one writer, with the store's (shared-writer.ts). */
  private readonly sharedWriter: boolean;
  private started = false;
  private closed = false;

  /** `db` must be migrated (adapters/store/migrations). The queue does not close it. */
  constructor(
    db: Db<StoreDatabase>,
    private readonly options: EmbeddedQueueOptions,
  ) {
    this.kysely = db.kysely;
    // Other processes may publish (e.g. `tramline messages reprocess`): on PostgreSQL a
    // transaction-scoped advisory lock serialises all queue writers of this schema so partition
    // heads stay exact. SQLite allows one writer at a time, and BEGIN IMMEDIATE takes that lock
    // before the partition heads are read; there the queue shares the database's one writer.
    this.sharedWriter = db.dialect === 'sqlite' && options.maxBatch === undefined;
    this.writes = this.sharedWriter
      ? sqliteWriter(db)
        : new GroupCommitter(db.kysely, {
          maxBatch: options.maxBatch ?? 500,
          maxConcurrent: 1,
          ...(db.dialect === 'postgres'
            ? { onBegin: (trx) => sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.tramline_queue'))`.execute(trx).then(() => undefined) }
            : { immediate: true }),
        });
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
    await this.insert(envelopes, publishItems);
  }

  /**
   * The queue lives in the store's database: these items commit with the messages' receive
   * (one fsync before the ACK instead of two). See DeliveryQueue.publishWithReceive. Only on the
   * database's shared SQLite writer; elsewhere, or with another database than the store's, the
   * caller must receive first and then `publish`.
   */
  get publishWithReceive(): ((envelopes: Envelope[]) => Promise<Envelope[]>) | undefined {
    if (!this.sharedWriter) return undefined;
    return async (envelopes) => {
      const queued = await this.insert(envelopes, publishStoredItems);
      // undefined: no destination is bound to these, so nothing needed queuing (as publish).
      return queued ? envelopes.filter((e) => queued.has(e.messageId)) : envelopes;
    };
  }

  private async insert<R>(envelopes: Envelope[], write: BulkWrite<StoreDatabase, NewQueueItem[], R>): Promise<R | undefined> {
    if (!this.started) throw new Error('embedded queue: publish before start(): no destinations are bound');
    if (this.closed) throw new Error('embedded queue is closed');
    const now = Date.now();
    const rows: NewQueueItem[] = [];
    const touched = new Set<string>();
    for (const envelope of envelopes) {
      for (const sub of this.subscriptions.values()) {
        if (!sub.bindings.some((pattern) => topicMatches(pattern, envelope.routingKey))) continue;
        rows.push(toQueueItem(this.options.keys, envelope, sub.destination, now));
        touched.add(sub.destination);
      }
    }
    if (rows.length === 0) return undefined;
    const result = await this.writes.submit(write, rows);
    for (const destination of touched) this.consumers.get(destination)?.wake();
    return result;
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
        writes: this.writes,
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
    const moved = await this.writes.run((trx) => replayDeadLetters(trx, destination, messageIds, Date.now()));
    if (moved > 0) this.consumers.get(destination)?.wake();
    return moved;
  }

  async discardDeadLetters(destination: string, messageIds: string[]): Promise<number> {
    if (!messageIds.length) return 0;
    const deleted = await this.writes.run((trx) =>
      trx.deleteFrom('dead_letters').where('destination', '=', destination).where('message_id', 'in', messageIds).executeTakeFirst(),
    );
    return Number(deleted.numDeletedRows);
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
    await this.writes.drain();
  }
}
