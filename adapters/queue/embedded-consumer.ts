// One destination's consumer in the embedded queue. It hands out only the head item of each
// partition (so a later item never overtakes an earlier one that is in flight or waiting to
// retry), keeps up to `concurrency` handlers running, and records each outcome before the item
// can be handed out again.
//
// Claims live in memory, not in the table: the embedded queue is single-node, so when the
// process dies its claims die with it and every unfinished row is simply handed out again on the
// next start (at-least-once) without lease expiry to wait for. Two processes must therefore not
// consume the same database's embedded queue (publishing from several is fine); use RabbitMQ to
// scale out.
import type { Kysely } from 'kysely';
import { reasonOf } from '../../core/errors.js';
import { log } from '../../core/logger.js';
import type { ContentKeyRing } from '../store/crypto.js';
import { dialectOf, type DialectName } from '../store/db.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { StoreDatabase } from '../store/schema.js';
import { toEnvelope, type QueueItemRow } from './embedded-rows.js';
import { itemsBySeq, readyHeadSeqs, readyHeads } from './embedded-sql.js';
import { applyOutcomes } from './embedded-writes.js';
import type { DeliveryHandler, DeliveryOutcome, Envelope } from '../../core/queue.js';

/** A handler that throws (instead of returning an outcome) is retried after this delay. */
export const THROWN_HANDLER_RETRY_MS = 1000;
/**
 * How long recording a delivery that is done may wait to share a commit with other writes (the
 * next message's receive, usually). Until it is recorded the item stays in flight (its partition
 * waits); if the process dies first, the item is delivered again (at-least-once, as before).
 */
const DONE_LINGER_MS = 5;
export interface ConsumerDeps {
  kysely: Kysely<StoreDatabase>;
  keys: ContentKeyRing;
  /** The queue's single writer (see embedded-writes.ts). */
  writes: GroupCommitter<StoreDatabase>;
  destination: string;
  concurrency: number;
  handler: DeliveryHandler;
  /** Safety net for work nobody woke us for (e.g. retries left by an earlier run). */
  pollIntervalMs: number;
}

function checkedOutcome(outcome: DeliveryOutcome): DeliveryOutcome {
  if (outcome?.kind === 'done') return outcome;
  if (outcome?.kind === 'dead-letter' && typeof outcome.reason === 'string') return outcome;
  if (outcome?.kind === 'retry' && Number.isFinite(outcome.delayMs) && outcome.delayMs >= 0) return outcome;
  return { kind: 'retry', delayMs: THROWN_HANDLER_RETRY_MS, reason: 'Error: handler returned an invalid outcome' };
}

export class DestinationConsumer {
  /** Items handed out and not yet recorded as finished: never handed out again meanwhile. */
  private readonly inFlight = new Map<number, Promise<void>>();
  /**
   * Handlers running: what `concurrency` limits. An item whose handler is done but whose outcome
   * waits for a commit stays in flight without holding a handler.
   */
  private handling = 0;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  /** The last look stopped at the concurrency limit: a completion must look again. */
  private starved = false;
  private closed = false;
  private readonly pollTimer: NodeJS.Timeout;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryTimes: number[] = [];
  private readonly dialect: DialectName;

  constructor(private readonly deps: ConsumerDeps) {
    this.dialect = dialectOf(deps.kysely);
    this.pollTimer = setInterval(() => this.wake(), deps.pollIntervalMs);
    this.pollTimer.unref();
    this.wake();
  }

  /** Look for ready items now (called on publish, completion, timers). */
  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      // A wake that arrived after the last round checked pumpAgain must not be lost.
      if (this.pumpAgain) this.wake();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.pumping;
    await Promise.all(this.inFlight.values());
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.pumpAgain = false;
        const free = this.deps.concurrency - this.handling;
        this.starved = free <= 0 || this.starved;
        if (free <= 0) return; // a completion wakes us
        // Rows in flight when the read started may be stale (finished meanwhile), so they are
        // excluded; their completion sets pumpAgain and the next round reads afresh.
        const busyAtStart = [...this.inFlight.keys()];
        const rows = await this.fetchHeads(free, busyAtStart);
        // A full page: more may be ready once a handler is free.
        this.starved = rows.length >= free;
        for (const row of rows) {
          if (this.closed || this.handling >= this.deps.concurrency) {
            this.starved = true;
            break;
          }
          if (!this.inFlight.has(row.seq)) this.start(row);
        }
      } while (this.pumpAgain && !this.closed);
    } catch (err) {
      // Database trouble: the poll timer tries again (no immediate retry loop).
      this.pumpAgain = false;
      log.error({ destination: this.deps.destination, err: reasonOf(err) }, 'embedded queue: fetching deliveries failed');
    }
  }

  /** Ready partition heads not already in flight, in publish order. */
  private async fetchHeads(limit: number, exclude: number[]): Promise<QueueItemRow[]> {
    if (this.dialect === 'postgres' || exclude.length === 0) {
      const { rows } = await this.deps.kysely.executeQuery<QueueItemRow>(readyHeads(this.dialect, this.deps.destination, Date.now(), limit, exclude));
      return rows;
    }
    // SQLite: the rows in flight are dropped here (see readyHeads). They are still heads, so as
    // many more seqs are read; only the rows to hand out are then read whole (content included).
    const { rows: heads } = await this.deps.kysely.executeQuery<{ seq: number }>(readyHeadSeqs(this.deps.destination, Date.now(), limit + exclude.length));
    const busy = new Set(exclude);
    const wanted = heads.map((row) => row.seq).filter((seq) => !busy.has(seq)).slice(0, limit);
    if (wanted.length === 0) return [];
    const { rows } = await this.deps.kysely.executeQuery<QueueItemRow>(itemsBySeq(wanted));
    return rows.sort((a, b) => a.seq - b.seq);
  }

  private start(row: QueueItemRow): void {
    this.handling++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.handling--;
      if (this.starved) this.wake();
    };
    const task = this.deliver(row, release)
      .catch(() => true)
      .then((lookAgain) => {
        release();
        this.inFlight.delete(row.seq);
        // A delivery done that made no new head frees a handler and nothing else: no need to
        // read the queue again unless the last look stopped at the concurrency limit.
        if (lookAgain || this.starved) this.wake();
      });
    this.inFlight.set(row.seq, task);
  }

  /** Resolves (never rejects) with whether the queue may hold newly ready items. */
  private async deliver(row: QueueItemRow, handled: () => void): Promise<boolean> {
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.runHandler(row);
    } finally {
      handled();
    }
    const now = Date.now();
    let lookAgain: boolean;
    try {
      lookAgain = await this.deps.writes.submit(applyOutcomes, { row, outcome, now }, outcome.kind === 'done' ? { lingerMs: DONE_LINGER_MS } : {});
    } catch (err) {
      // Not recorded: the row is unchanged and will be handed out again (at-least-once).
      log.error({ destination: this.deps.destination, messageId: row.message_id, err: reasonOf(err) }, 'embedded queue: recording outcome failed');
      await new Promise((resolve) => setTimeout(resolve, this.deps.pollIntervalMs));
      return true;
    }
    if (outcome.kind === 'retry') this.wakeAt(now + outcome.delayMs);
    return lookAgain;
  }

  private async runHandler(row: QueueItemRow): Promise<DeliveryOutcome> {
    let envelope: Envelope;
    try {
      envelope = toEnvelope(this.deps.keys, row);
    } catch (err) {
      // Unreadable payload (key missing): park it where an operator can replay it once fixed.
      return { kind: 'dead-letter', reason: `ConfigError: ${(err as Error).message}` };
    }
    try {
      return checkedOutcome(await this.deps.handler({ envelope, destination: this.deps.destination, attempt: row.attempt }));
    } catch (err) {
      log.warn({ destination: this.deps.destination, messageId: row.message_id, attempt: row.attempt }, 'embedded queue: handler threw; retrying');
      return { kind: 'retry', delayMs: THROWN_HANDLER_RETRY_MS, reason: reasonOf(err) };
    }
  }

  /** One timer, set for the earliest retry this process knows of. */
  private wakeAt(at: number): void {
    if (this.closed) return;
    this.retryTimes.push(at);
    this.armRetryTimer();
  }

  private armRetryTimer(): void {
    const now = Date.now();
    this.retryTimes = this.retryTimes.filter((t) => t > now);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.closed || this.retryTimes.length === 0) return;
    const next = this.retryTimes.reduce((a, b) => Math.min(a, b));
    // +1 ms: a timer may fire within the same millisecond it was due, before the row is ready.
    this.retryTimer = setTimeout(() => {
      this.wake();
      this.armRetryTimer();
    }, next - now + 1);
    this.retryTimer.unref();
  }
}
