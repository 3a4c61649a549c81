// The audit trail over the store's database. Appends are serialised twice over: in this
// process by one writer loop (entries arriving while a write is under way share the next
// write), and across processes by a lock taken inside a transaction before the last entry is
// read (PostgreSQL advisory lock; SQLite BEGIN IMMEDIATE). The seq primary key is the last
// guard: a forked chain cannot be stored.
//
// PostgreSQL fast path: the writer remembers the last entry it committed, chains the batch
// onto it and stores it with one INSERT that adds nothing if any newer entry exists (another
// process appended). That statement is its own transaction: one round trip per batch instead of
// five. When it adds nothing, or collides on seq with an appender it could not yet see, the
// batch is chained again under the lock. Entries the caller does not wait for (`record`) wait
// up to `lingerMs` for company, so a steady trickle (three entries per message) still shares
// statements; `append` and `flush` write at once.
import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import type { Db, DialectName } from '../../adapters/store/db.js';
import { sqliteWriter } from '../../adapters/store/shared-writer.js';
import { bulkInsert, unnestColumns, type TypedColumns } from '../../adapters/store/bulk-sql.js';
import { PREPARE } from '../../adapters/store/pg-prepared.js';
import { log } from '../../core/logger.js';
import { ChainChecker, GENESIS_HASH } from './chain.js';
import { readPublishedHead } from './head.js';
import type { AuditKey } from './key.js';
import { toRecord, toRow } from './rows.js';
import type { AuditDatabase, AuditLogTable, DbHandle } from './schema.js';
import type { AuditEntryInput, AuditFilter, AuditRecord, VerifyResult } from './types.js';

interface Pending {
  entry: AuditEntryInput;
  resolve(row: AuditLogTable): void;
  reject(err: unknown): void;
}

/** Every audit_log column (migration 0004) with its PostgreSQL type, in insert order. */
const AUDIT_COLUMNS = [
  ['seq', 'bigint'],
  ['at', 'bigint'],
  ['category', 'text'],
  ['action', 'text'],
  ['outcome', 'text'],
  ['actor', 'text'],
  ['actor_kind', 'text'],
  ['role', 'text'],
  ['organisation', 'text'],
  ['source_ip', 'text'],
  ['target', 'text'],
  ['message_id', 'text'],
  ['patient', 'text'],
  ['purpose', 'text'],
  ['break_glass', 'text'],
  ['detail', 'text'],
  ['prev_hash', 'text'],
  ['hash', 'text'],
  ['mac', 'text'],
] as const satisfies TypedColumns & readonly (readonly [keyof AuditLogTable, string])[];

const UNIQUE_VIOLATION = '23505';
/** The chain's last entry, read in every write's transaction: as text (no query builder on each write). */
const LAST_ENTRY = CompiledQuery.raw(`${PREPARE}select "seq", "hash" from "audit_log" order by "seq" desc limit 1`);
/** Locked appends retried after losing a race to a lock-free fast-path append. */
const LOCKED_ATTEMPTS = 20;
const INSERT_CHUNK = 200;
const VERIFY_PAGE = 2000;
const DEFAULT_QUERY_LIMIT = 500;
const MAX_QUERY_LIMIT = 10_000;

type Executor = Kysely<AuditDatabase> | Transaction<AuditDatabase>;

export interface AuditWriter {
  append(entry: AuditEntryInput): Promise<AuditRecord>;
}

export interface AuditTrailOptions {
  /** Signs each entry (its MAC) and checks the MACs and the published head on verify. */
  key: AuditKey;
  /** Where the head is published (`auditHeadFile`): verify checks it when given. */
  headFile?: string;
  /** Most entries per write (default 500). */
  maxBatch?: number;
  /** How long a `record`ed entry may wait for others before it is written (default 20 ms). */
  lingerMs?: number;
}

export class AuditTrail implements AuditWriter {
  private readonly kysely: Kysely<AuditDatabase>;
  private readonly dialect: DialectName;
  private readonly db: Pick<Db<AuditDatabase>, 'kysely' | 'dialect'>;
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly key: AuditKey;
  private readonly headFile?: string;
  private pending: Pending[] = [];
  private writing?: Promise<void>;
  private lingering?: NodeJS.Timeout;
  /** An entry someone waits for (`append`) is pending: the next batch does not linger. */
  private urgent = false;
  /** The last entry this trail committed or read under the lock: where the fast path chains on. */
  private head?: { seq: number; hash: string };

  /** `db` must be migrated. The trail does not close it. */
  constructor(db: DbHandle, options: AuditTrailOptions) {
    this.kysely = db.kysely as unknown as Kysely<AuditDatabase>;
    this.db = { kysely: this.kysely, dialect: db.dialect };
    this.dialect = db.dialect;
    this.key = options.key;
    this.headFile = options.headFile;
    this.maxBatch = options.maxBatch ?? 500;
    this.lingerMs = options.lingerMs ?? 20;
  }

  /** Append one entry; resolves once it is committed, with its seq and hash. */
  append(entry: AuditEntryInput): Promise<AuditRecord> {
    return new Promise((resolve, reject) => this.enqueue({ entry, resolve: (row) => resolve(toRecord(row)), reject }, true));
  }

  /**
   * Append and never throw: for observers that must not fail the work they watch. Resolves once
   * the entry is committed (or its failure logged), at most `lingerMs` later than `append` would.
   */
  record(entry: AuditEntryInput): Promise<void> {
    return new Promise<void>((resolve) =>
      this.enqueue(
        {
          entry,
          resolve: () => resolve(),
          reject: (err: unknown) => {
            log.error({ action: entry.action, reason: (err as Error).message }, 'audit entry could not be written');
            resolve();
          },
        },
        false,
      ),
    );
  }

  /** Wait until every entry appended so far is written. */
  async flush(): Promise<void> {
    if (this.pending.length) {
      this.urgent = true;
      this.startWriting();
    }
    if (this.dialect === 'sqlite') sqliteWriter(this.db).hurry();
    while (this.writing) await this.writing;
  }

  private enqueue(pending: Pending, now: boolean): void {
    this.pending.push(pending);
    if (now) this.urgent = true;
    if (this.dialect === 'sqlite') {
      // The database's one writer does the lingering: these entries ride with the next commit
      // of any write there (or commit when lingerMs is up), not with a commit of their own.
      if (now) sqliteWriter(this.db).hurry();
      this.startWriting();
    } else if (now || this.pending.length >= this.maxBatch || this.lingerMs <= 0) this.startWriting();
    else this.lingering ??= setTimeout(() => this.startWriting(), this.lingerMs);
  }

  /** Write everything pending now (entries arriving meanwhile join the next batch). */
  private startWriting(): void {
    clearTimeout(this.lingering);
    this.lingering = undefined;
    if (!this.writing && this.pending.length) this.writing = this.writeLoop();
  }

  async query(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const limit = Math.min(Math.max(1, filter.limit ?? DEFAULT_QUERY_LIMIT), MAX_QUERY_LIMIT);
    let q = this.kysely.selectFrom('audit_log').selectAll();
    if (filter.from) q = q.where('at', '>=', filter.from.getTime());
    if (filter.to) q = q.where('at', '<', filter.to.getTime());
    if (filter.patient !== undefined) q = q.where('patient', '=', filter.patient);
    if (filter.category !== undefined) q = q.where('category', '=', filter.category);
    if (filter.action !== undefined) q = q.where('action', '=', filter.action);
    if (filter.actor !== undefined) q = q.where('actor', '=', filter.actor);
    if (filter.messageId !== undefined) q = q.where('message_id', '=', filter.messageId);
    if (filter.outcome !== undefined) q = q.where('outcome', '=', filter.outcome);
    if (filter.afterSeq !== undefined) q = q.where('seq', '>', filter.afterSeq);
    if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq);
    if (filter.breakGlass) q = q.where('break_glass', 'is not', null);
    const rows = await q.orderBy('seq', filter.newestFirst ? 'desc' : 'asc').limit(limit).execute();
    return rows.map(toRecord);
  }

  /**
   * Recompute the whole chain and check each entry's MAC; names the first entry that does not
   * fit. Then the heads noted elsewhere must still be there, unchanged, which catches a chain
   * cut short or rewritten from some point on: `knownHead` (seq and hash, e.g. from an earlier
   * verify) and, unless `publishedHead` is false, the head published in the trail's head file.
   */
  async verify(options: { knownHead?: { seq: number; hash: string }; publishedHead?: boolean } = {}): Promise<VerifyResult> {
    const checker = new ChainChecker(undefined, this.key);
    const result = (broken?: VerifyResult['broken'], extra: Partial<VerifyResult> = {}): VerifyResult => ({
      ok: !broken,
      checked: checker.checked,
      head: checker.head,
      ...(checker.unkeyed ? { unkeyed: checker.unkeyed } : {}),
      ...extra,
      ...(broken ? { broken } : {}),
    });
    let after = 0;
    for (;;) {
      const rows = await this.kysely.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(VERIFY_PAGE).execute();
      for (const row of rows) {
        const problem = checker.check(row);
        if (problem) return result({ seq: Number(row.seq), reason: problem });
      }
      if (rows.length < VERIFY_PAGE) break;
      after = Number(rows[rows.length - 1].seq);
    }
    const known = options.knownHead;
    if (known) {
      const problem = await this.notedEntryProblem(known, checker.head?.seq ?? 0, 'the noted entry');
      if (problem) return result({ seq: known.seq, reason: problem });
    }
    if (options.publishedHead === false || !this.headFile) return result();
    const read = readPublishedHead(this.headFile, this.key);
    if (!read) return result(undefined, { publishedHead: { missing: true } });
    if ('problem' in read) return result({ seq: 0, reason: read.problem });
    const published = read.head;
    const extra = { publishedHead: { seq: published.seq, publishedAt: published.publishedAt } };
    const problem = await this.notedEntryProblem(published, checker.head?.seq ?? 0, `the head published at ${published.publishedAt}`);
    if (problem) return result({ seq: published.seq, reason: problem }, extra);
    if (published.keyedFrom !== null && checker.unkeyed && checker.unkeyed.last >= published.keyedFrom) {
      return result({ seq: published.keyedFrom, reason: `entries from ${published.keyedFrom} on had MACs when the head was published; now they have none (rewritten)` }, extra);
    }
    return result(undefined, extra);
  }

  /** Why an entry noted elsewhere (seq and hash) no longer holds, or null. */
  private async notedEntryProblem(noted: { seq: number; hash: string }, lastSeq: number, what: string): Promise<string | null> {
    const row = await this.kysely.selectFrom('audit_log').select('hash').where('seq', '=', noted.seq).executeTakeFirst();
    if (!row) return `${what} (entry ${noted.seq}) is gone: the trail ends at entry ${lastSeq}, entries ${lastSeq + 1}..${noted.seq} were cut off (trail cut short)`;
    if (row.hash !== noted.hash) return `${what} has a different hash (trail rewritten)`;
    return null;
  }

  /** The newest entry (for publishing the head). */
  async newestEntry(): Promise<AuditLogTable | undefined> {
    return this.kysely.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
  }

  /** The first entry with a MAC (entries before it were written before the audit key existed). */
  async firstKeyedSeq(): Promise<number | null> {
    const row = await this.kysely.selectFrom('audit_log').select('seq').where('mac', 'is not', null).orderBy('seq').limit(1).executeTakeFirst();
    return row ? Number(row.seq) : null;
  }

  /**
   * Called only with entries pending, so it awaits before it can end. It clears `writing` in the
   * same turn as it sees nothing left: a caller resumed by the last resolve and appending again
   * at once starts a new loop (a `.finally` a turn later would leave that entry waiting).
   */
  private async writeLoop(): Promise<void> {
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, this.maxBatch);
        const lingerMs = this.urgent ? 0 : this.lingerMs;
        this.urgent = false;
        try {
          const rows = await this.writeBatch(batch.map((p) => p.entry), lingerMs);
          const last = rows[rows.length - 1];
          this.head = { seq: Number(last.seq), hash: last.hash };
          batch.forEach((p, i) => p.resolve(rows[i]));
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** `lingerMs` (SQLite): how long the batch may wait to share a commit with other writes. */
  private async writeBatch(entries: AuditEntryInput[], lingerMs: number): Promise<AuditLogTable[]> {
    const write = async (trx: Executor) => {
      const [last] = (await trx.executeQuery<{ seq: number; hash: string }>(LAST_ENTRY)).rows;
      const rows = chainRows(entries, last ? { seq: Number(last.seq), hash: last.hash } : undefined, this.key);
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) await trx.executeQuery(insertRows(this.dialect, rows.slice(i, i + INSERT_CHUNK)));
      return rows;
    };
    if (this.dialect === 'postgres') {
      const head = this.head;
      if (head) {
        const rows = chainRows(entries, head, this.key);
        try {
          const result = await this.kysely.executeQuery(insertOntoHead(rows, head.seq));
          if (Number(result.numAffectedRows) === rows.length) return rows;
        } catch (err) {
          if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
        }
        // Another process appended since our last write: chain again under the lock.
      }
      // Under the lock, one locked appender at a time across every engine process sharing this
      // schema. A fast-path INSERT (above) takes no lock, so one can still land between our read
      // of the head and our insert: the seq primary key refuses ours, and we chain again.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.kysely.transaction().execute(async (trx) => {
            await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))`.execute(trx);
            return write(trx);
          });
        } catch (err) {
          if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION || attempt >= LOCKED_ATTEMPTS) throw err;
        }
      }
    }
    // SQLite: through the database's one writer, whose transactions take the write lock first
    // (BEGIN IMMEDIATE), so a second process (the CLI) waits (busy_timeout) instead of reading
    // the same head; the entries share a commit with the store's and the queue's writes.
    return sqliteWriter(this.db).run((trx) => write(trx), { lingerMs });
  }
}

/** Entries as rows chained onto `head` (undefined: the start of the trail), all stamped now and signed. */
function chainRows(entries: AuditEntryInput[], head: { seq: number; hash: string } | undefined, key: AuditKey): AuditLogTable[] {
  let seq = head?.seq ?? 0;
  let prev = head?.hash ?? GENESIS_HASH;
  const now = Date.now();
  return entries.map((entry) => {
    const row = toRow(entry, ++seq, prev, now, key);
    prev = row.hash;
    return row;
  });
}

/** One multi-row insert. */
function insertRows(dialect: DialectName, rows: AuditLogTable[]) {
  return bulkInsert(
    dialect,
    'audit_log',
    AUDIT_COLUMNS,
    rows.map((row) => AUDIT_COLUMNS.map(([column]) => row[column])),
  );
}

/**
 * PostgreSQL fast path: one multi-row insert that adds nothing unless the trail's last entry is
 * `head` (the rows are chained onto it). The last seq comes from a backward scan of the primary
 * key, whatever the planner's statistics say (`not exists (… seq > n)` may be planned as a scan
 * of the whole table). Same text every time: prepared once per connection.
 */
function insertOntoHead(rows: AuditLogTable[], head: number) {
  const columns = AUDIT_COLUMNS.map(([column]) => `"${column}"`).join(', ');
  const text =
    `${PREPARE}insert into "audit_log" (${columns}) select * from ${unnestColumns(AUDIT_COLUMNS, 1)} ` +
    `where coalesce((select "seq" from "audit_log" order by "seq" desc limit 1), 0) = $${AUDIT_COLUMNS.length + 1}::bigint`;
  return CompiledQuery.raw(text, [...AUDIT_COLUMNS.map(([column]) => rows.map((row) => row[column])), head]);
}
