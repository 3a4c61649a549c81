// The audit trail over the store's database. Appends are serialised twice over: in this
// process by one writer loop (entries arriving while a write is under way share the next
// transaction), and across processes by a lock taken inside that transaction before the last
// entry is read (PostgreSQL advisory lock; SQLite BEGIN IMMEDIATE). The seq primary key is the
// last guard: a forked chain cannot be stored.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DialectName } from '../store/db.js';
import { log } from '../logger.js';
import { ChainChecker, GENESIS_HASH } from './chain.js';
import { toRecord, toRow } from './rows.js';
import type { AuditDatabase, AuditLogTable, DbHandle } from './schema.js';
import type { AuditEntryInput, AuditFilter, AuditRecord, VerifyResult } from './types.js';

interface Pending {
  entry: AuditEntryInput;
  resolve(record: AuditRecord): void;
  reject(err: unknown): void;
}

const INSERT_CHUNK = 200;
const VERIFY_PAGE = 2000;
const DEFAULT_QUERY_LIMIT = 500;
const MAX_QUERY_LIMIT = 10_000;

type Executor = Kysely<AuditDatabase> | Transaction<AuditDatabase>;

export interface AuditWriter {
  append(entry: AuditEntryInput): Promise<AuditRecord>;
}

export class AuditTrail implements AuditWriter {
  private readonly kysely: Kysely<AuditDatabase>;
  private readonly dialect: DialectName;
  private pending: Pending[] = [];
  private writing?: Promise<void>;

  /** `db` must be migrated. The trail does not close it. */
  constructor(
    db: DbHandle,
    private readonly options: { maxBatch?: number } = {},
  ) {
    this.kysely = db.kysely as unknown as Kysely<AuditDatabase>;
    this.dialect = db.dialect;
  }

  /** Append one entry; resolves once it is committed, with its seq and hash. */
  append(entry: AuditEntryInput): Promise<AuditRecord> {
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, resolve, reject });
      this.writing ??= this.writeLoop().finally(() => (this.writing = undefined));
    });
  }

  /** Append and never throw: for observers that must not fail the work they watch. */
  record(entry: AuditEntryInput): Promise<void> {
    return this.append(entry).then(
      () => undefined,
      (err: unknown) => log.error({ action: entry.action, reason: (err as Error).message }, 'audit entry could not be written'),
    );
  }

  /** Wait until every entry appended so far is written. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
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
    const rows = await q.orderBy('seq', filter.newestFirst ? 'desc' : 'asc').limit(limit).execute();
    return rows.map(toRecord);
  }

  /**
   * Recompute the whole chain; names the first entry that does not fit. `knownHead` is an entry
   * noted earlier (seq and hash, e.g. from a previous verify): it must still be there, unchanged,
   * which also catches a chain cut short or rewritten from some point on.
   */
  async verify(options: { knownHead?: { seq: number; hash: string } } = {}): Promise<VerifyResult> {
    const checker = new ChainChecker();
    let after = 0;
    for (;;) {
      const rows = await this.kysely.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(VERIFY_PAGE).execute();
      for (const row of rows) {
        const problem = checker.check(row);
        if (problem) return { ok: false, checked: checker.checked, head: checker.head, broken: { seq: Number(row.seq), reason: problem } };
      }
      if (rows.length < VERIFY_PAGE) break;
      after = Number(rows[rows.length - 1].seq);
    }
    const known = options.knownHead;
    if (known) {
      const row = await this.kysely.selectFrom('audit_log').select('hash').where('seq', '=', known.seq).executeTakeFirst();
      if (!row) return { ok: false, checked: checker.checked, head: checker.head, broken: { seq: known.seq, reason: 'the noted entry is gone (trail cut short)' } };
      if (row.hash !== known.hash) return { ok: false, checked: checker.checked, head: checker.head, broken: { seq: known.seq, reason: 'the noted entry has a different hash (trail rewritten)' } };
    }
    return { ok: true, checked: checker.checked, head: checker.head };
  }

  private async writeLoop(): Promise<void> {
    const maxBatch = this.options.maxBatch ?? 500;
    while (this.pending.length) {
      const batch = this.pending.splice(0, maxBatch);
      try {
        const rows = await this.writeBatch(batch.map((p) => p.entry));
        batch.forEach((p, i) => p.resolve(toRecord(rows[i])));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
  }

  private writeBatch(entries: AuditEntryInput[]): Promise<AuditLogTable[]> {
    const write = async (trx: Executor) => {
      const last = await trx.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      let seq = last ? Number(last.seq) : 0;
      let prev = last?.hash ?? GENESIS_HASH;
      const now = Date.now();
      const rows = entries.map((entry) => {
        const row = toRow(entry, ++seq, prev, now);
        prev = row.hash;
        return row;
      });
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) await trx.insertInto('audit_log').values(rows.slice(i, i + INSERT_CHUNK)).execute();
      return rows;
    };
    if (this.dialect === 'postgres') {
      return this.kysely.transaction().execute(async (trx) => {
        // One appender at a time across every engine process sharing this schema.
        await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))`.execute(trx);
        return write(trx);
      });
    }
    // SQLite: take the write lock before reading the last entry, so a second process (the CLI)
    // waits (busy_timeout) instead of reading the same head.
    return this.kysely.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const rows = await write(conn);
        await sql`commit`.execute(conn);
        return rows;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      }
    });
  }
}
