// Group commit: writes that arrive while a commit is under way are gathered and committed
// together in one transaction, so one fsync / one PostgreSQL commit serves many callers.
// Each caller's promise settles only after the transaction holding its write has committed.
// A batch of one kind whose write is a single statement skips BEGIN and COMMIT (the statement
// is its own transaction). No write waits on a timer when someone waits for it: a batch starts
// in the same turn of the event loop as its first write when nothing is committing, else as
// soon as the commit under way finishes. Writes nobody waits for at once (lingerMs) ride along
// with the next batch that starts, or are committed when their linger time is up, so a steady
// trickle shares commits with the writes senders wait for instead of adding fsyncs of its own.
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';

const BEGIN_IMMEDIATE = CompiledQuery.raw('begin immediate');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

/** A result standing for one item's failure: that caller's promise rejects, the rest resolve. */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

/** A kind of write that can be applied to many items at once (e.g. one multi-row insert). */
export interface BulkWrite<DB, I, R> {
  readonly name: string;
  /** Must return one result per item, in order (an ItemFailure fails that item alone). */
  apply(trx: Transaction<DB>, items: I[]): Promise<(R | ItemFailure)[]>;
  /**
   * The same write without a transaction, when a batch holds only this kind: returns undefined
   * when these items need one. Safe only when the first statement alone makes every item
   * durable or none; any later statement may fail only its own items (as ItemFailure).
   */
  applyAlone?(db: Kysely<DB>, items: I[]): Promise<(R | ItemFailure)[]> | undefined;
  /** Applied after every other kind in its transaction (it reads what they wrote). */
  readonly last?: boolean;
}

export interface SubmitOptions {
  /** Most milliseconds this write may wait for others of its kind before it is committed. */
  lingerMs?: number;
}

interface Pending<DB> {
  /** Order of submission: lingering writes rejoin the others in it. */
  seq: number;
  kind: BulkWrite<DB, unknown, unknown>;
  item: unknown;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

export interface GroupCommitOptions {
  /** Most writes per transaction. */
  maxBatch?: number;
  /** Transactions in flight at once (1 keeps commit order equal to call order). */
  maxConcurrent?: number;
  /** Runs first in every transaction, e.g. to take a lock shared with other processes. */
  onBegin?: (trx: Transaction<never>) => Promise<void>;
  /**
   * SQLite: open each transaction with BEGIN IMMEDIATE (the write lock first), so a write that
   * reads before it writes waits for another process's writer (busy_timeout) instead of failing
   * when that one commits between its read and its write.
   */
  immediate?: boolean;
}

type SingleOp<DB> = (trx: Transaction<DB>) => Promise<unknown>;

export class GroupCommitter<DB> {
  private pending: Pending<DB>[] = [];
  /** Submitted with lingerMs: moved to `pending` when the timer fires or on drain. */
  private lingering: Pending<DB>[] = [];
  private lingerTimer?: NodeJS.Timeout;
  private active = 0;
  private submitted = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;
  private readonly onBegin?: (trx: Transaction<DB>) => Promise<void>;
  private readonly immediate: boolean;
  /** Arbitrary transactional functions, run one after another inside the shared transaction. */
  private readonly singleOps: BulkWrite<DB, SingleOp<DB>, unknown> = {
    name: 'op',
    apply: async (trx, ops) => {
      const results: unknown[] = [];
      for (const op of ops) results.push(await op(trx));
      return results;
    },
  };

  constructor(
    private readonly kysely: Kysely<DB>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.maxConcurrent = options.maxConcurrent ?? 1;
    this.onBegin = options.onBegin as ((trx: Transaction<DB>) => Promise<void>) | undefined;
    this.immediate = options.immediate ?? false;
  }

  /** Queue one item of a bulk write; resolves with its result after commit. */
  submit<I, R>(kind: BulkWrite<DB, I, R>, item: I, options: SubmitOptions = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const pending = { seq: this.submitted++, kind: kind as BulkWrite<DB, unknown, unknown>, item, resolve: resolve as (v: unknown) => void, reject };
      if (options.lingerMs && options.lingerMs > 0) {
        this.lingering.push(pending);
        this.lingerTimer ??= setTimeout(() => this.stopLingering(), options.lingerMs);
        if (this.lingering.length >= this.maxBatch) this.stopLingering();
        return;
      }
      this.pending.push(pending);
      this.schedule();
    });
  }

  private stopLingering(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (this.lingering.length === 0) return;
    this.rejoin();
    this.schedule();
  }

  /** Lingering writes back among the others, in order of submission (a later write to the same row wins). */
  private rejoin(): void {
    this.pending.push(...this.lingering.splice(0));
    this.pending.sort((a, b) => a.seq - b.seq);
  }

  /** Queue a transactional function; it shares a transaction with other queued writes. */
  run<T>(op: (trx: Transaction<DB>) => Promise<T>, options: SubmitOptions = {}): Promise<T> {
    return this.submit(this.singleOps, op, options) as Promise<T>;
  }

  /** Commit the lingering writes now (someone now waits for one of them). */
  hurry(): void {
    if (this.lingering.length) this.stopLingering();
  }

  /** Resolves once everything queued so far has been committed or failed. */
  async drain(): Promise<void> {
    this.stopLingering();
    if (this.pending.length === 0 && this.active === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.active >= this.maxConcurrent) return;
    this.scheduled = true;
    // Let callers that arrive in the same turn of the event loop join this batch.
    setImmediate(() => {
      this.scheduled = false;
      this.startFlushes();
    });
  }

  private startFlushes(): void {
    // A batch is starting anyway: writes lingering for company join it (no commit of their own).
    if (this.pending.length > 0 && this.active < this.maxConcurrent && this.lingering.length > 0) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      this.rejoin();
    }
    while (this.active < this.maxConcurrent && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.active++;
      void this.flush(batch).finally(() => {
        this.active--;
        if (this.pending.length > 0) this.startFlushes();
        else if (this.active === 0) this.idleWaiters.splice(0).forEach((wake) => wake());
      });
    }
  }

  private async flush(batch: Pending<DB>[]): Promise<void> {
    const kind = batch[0].kind;
    let results: unknown[];
    try {
      const alone = !this.onBegin && kind.applyAlone && batch.every((p) => p.kind === kind) ? kind.applyAlone(this.kysely, batch.map((p) => p.item)) : undefined;
      results = await (alone ?? this.transaction((trx) => applyGrouped(trx, batch)));
    } catch {
      if (batch.length === 1) return this.flushAlone(batch[0]);
      // One bad write must not fail its neighbours: commit each on its own to find it.
      for (const p of batch) await this.flushAlone(p);
      return;
    }
    if (results.length !== batch.length) {
      // A bug in a bulk write, found after its commit: writing again could store twice.
      const err = new Error(`bulk write ${kind.name} returned ${results.length} results for ${batch.length} items`);
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => settle(p, results[i]));
  }

  private async flushAlone(p: Pending<DB>): Promise<void> {
    try {
      const [result] = await this.transaction((trx) => p.kind.apply(trx, [p.item]));
      settle(p, result);
    } catch (err) {
      p.reject(err);
    }
  }

  private async transaction<T>(body: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    if (!this.immediate) {
      return this.kysely.transaction().execute(async (trx) => {
        await this.onBegin?.(trx);
        return body(trx);
      });
    }
    // Kysely's SQLite transactions open with a plain (deferred) BEGIN: take the connection and
    // say BEGIN IMMEDIATE ourselves. Queries on it build like a transaction's.
    return this.kysely.connection().execute(async (conn) => {
      await conn.executeQuery(BEGIN_IMMEDIATE);
      try {
        const trx = conn as unknown as Transaction<DB>;
        await this.onBegin?.(trx);
        const result = await body(trx);
        await conn.executeQuery(COMMIT);
        return result;
      } catch (err) {
        await conn.executeQuery(ROLLBACK).catch(() => undefined);
        throw err;
      }
    });
  }
}

function settle<DB>(p: Pending<DB>, result: unknown): void {
  if (result instanceof ItemFailure) p.reject(result.error);
  else p.resolve(result);
}

/** Apply a batch, one bulk call per kind (in order of first appearance, `last` kinds last); results in batch order. */
async function applyGrouped<DB>(trx: Transaction<DB>, batch: Pending<DB>[]): Promise<unknown[]> {
  const byKind = new Map<BulkWrite<DB, unknown, unknown>, number[]>();
  batch.forEach((p, i) => {
    const list = byKind.get(p.kind);
    if (list) list.push(i);
    else byKind.set(p.kind, [i]);
  });
  const results = new Array<unknown>(batch.length);
  const kinds = [...byKind].sort(([a], [b]) => Number(a.last ?? false) - Number(b.last ?? false));
  for (const [kind, indexes] of kinds) {
    const out = await kind.apply(
      trx,
      indexes.map((i) => batch[i].item),
    );
    if (out.length !== indexes.length) throw new Error(`bulk write ${kind.name} returned ${out.length} results for ${indexes.length} items`);
    indexes.forEach((batchIndex, k) => (results[batchIndex] = out[k]));
  }
  return results;
}
