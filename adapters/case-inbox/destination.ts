// Case-system inbox: writes each delivered message as a row of an inbox table in the case
// system's own database, the way council case systems (Liquidlogic, Mosaic, …) take
// integration feeds. The row id is Tramline's message id, so redelivery is a no-op.
// Deliveries that arrive together are written together: one multi-row insert (one commit)
// for everything that queued up while the previous insert was under way, written as SQL text
// directly (PostgreSQL: one array parameter per column) rather than through the query builder.
import { sql, type Kysely } from 'kysely';
import type { CaseInboxDestinationConfig } from './spec.js';
import { DeliveryError } from '../../core/errors.js';
import type { Envelope } from '../../core/queue.js';
import { bulkInsert, type TypedColumns } from '../store/bulk-sql.js';
import { openDatabase, type Db } from '../store/db.js';
import type { DeliveryReport, Destination } from '../types.js';
import { extractInboxFacts } from './extract.js';

interface InboxRow {
  id: string;
  received_at: string;
  delivered_at: string;
  message_type: string;
  control_id: string;
  sending_facility: string;
  nhs_number: string | null;
  patient_identifiers: string;
  payload: string;
}

type InboxDb = Record<string, InboxRow>;

const INBOX_COLUMNS = [
  ['id', 'text'],
  ['received_at', 'text'],
  ['delivered_at', 'text'],
  ['message_type', 'text'],
  ['control_id', 'text'],
  ['sending_facility', 'text'],
  ['nhs_number', 'text'],
  ['patient_identifiers', 'text'],
  ['payload', 'text'],
] as const satisfies TypedColumns & readonly (readonly [keyof InboxRow, string])[];

/** The table name goes into SQL text: the channel schema's pattern, checked again here. */
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

interface PendingRow {
  row: InboxRow;
  resolve(): void;
  reject(err: Error): void;
}

/** Most rows per insert (9 parameters each: far below both engines' limits). */
const MAX_BATCH = 200;
/** Inserts in flight at once. */
const MAX_CONCURRENT_INSERTS = 2;
/**
 * SQLite: how long a delivery that finds nothing pending and no insert under way waits for
 * others to share its insert. Each SQLite commit is an fsync that holds up the engine's thread (and the ACKs
 * behind it); a sender that waits for each ACK otherwise costs one of those per message here.
 */
const SQLITE_LINGER_MS = 5;

export class CaseInboxDestination implements Destination {
  private db?: Db<InboxDb>;
  private pending: PendingRow[] = [];
  private inserting = 0;
  private scheduled = false;
  private lingering?: NodeJS.Timeout;
  /** close() waiting for the inserts under way. */
  private idle: (() => void)[] = [];

  constructor(private readonly config: Pick<CaseInboxDestinationConfig, 'database' | 'table'>) {}

  async open(): Promise<void> {
    if (!TABLE_NAME.test(this.config.table)) throw new Error(`case inbox table name not allowed: ${this.config.table}`);
    this.db = await openDatabase<InboxDb>(this.config.database);
    await this.db.kysely.schema
      .createTable(this.config.table)
      .ifNotExists()
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('received_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('delivered_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('message_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('control_id', 'varchar(199)', (c) => c.notNull())
      .addColumn('sending_facility', 'varchar(227)', (c) => c.notNull())
      .addColumn('nhs_number', 'varchar(10)')
      .addColumn('patient_identifiers', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .execute();
    await sql`create index if not exists ${sql.id(`${this.config.table}_nhs_number`)} on ${sql.table(this.config.table)} (nhs_number)`.execute(
      this.db.kysely,
    );
  }

  get kysely(): Kysely<InboxDb> {
    if (!this.db) throw new Error('case inbox destination used before open()');
    return this.db.kysely;
  }

  /** Reports nothing: the row's id is the message id, and the row holds the message as it is. */
  async deliver(envelope: Envelope): Promise<DeliveryReport | undefined> {
    let facts;
    try {
      facts = extractInboxFacts(envelope.body);
    } catch (err) {
      throw new DeliveryError(`message ${envelope.messageId} cannot be read for the inbox: ${(err as Error).message}`, false);
    }
    const row: InboxRow = {
      id: envelope.messageId,
      received_at: envelope.headers.receivedAt ?? new Date().toISOString(),
      delivered_at: new Date().toISOString(),
      message_type: facts.messageType,
      control_id: facts.controlId,
      sending_facility: facts.sendingFacility,
      nhs_number: facts.nhsNumber ?? null,
      patient_identifiers: JSON.stringify(facts.identifiers),
      payload: envelope.body,
    };
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ row, resolve, reject });
      if (this.lingering && this.pending.length >= MAX_BATCH) this.startInserts();
      // The first delivery after a quiet spell may wait for company; later ones do not.
      else this.schedule(this.pending.length === 1 && this.inserting === 0);
    });
    return undefined;
  }

  private schedule(linger = false): void {
    if (this.scheduled || this.inserting >= MAX_CONCURRENT_INSERTS) return;
    this.scheduled = true;
    // Deliveries started in the same turn of the event loop join this insert; on SQLite, after
    // a quiet spell, those of the next few milliseconds too. Rows that queued up behind an
    // insert go as soon as it is done.
    if (linger && this.db?.dialect === 'sqlite') this.lingering = setTimeout(() => this.startInserts(), SQLITE_LINGER_MS);
    else setImmediate(() => this.startInserts());
  }

  private startInserts(): void {
    clearTimeout(this.lingering);
    this.lingering = undefined;
    this.scheduled = false;
    while (this.inserting < MAX_CONCURRENT_INSERTS && this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      this.inserting++;
      void this.insert(batch).finally(() => {
        this.inserting--;
        if (this.pending.length > 0) this.schedule();
        this.idle.splice(0).forEach((wake) => wake());
      });
    }
  }

  private async insert(batch: PendingRow[]): Promise<void> {
    try {
      await this.insertRows(batch.map((p) => p.row));
      for (const p of batch) p.resolve();
    } catch (err) {
      if (batch.length === 1) return batch[0].reject(err as Error);
      // One bad row must not fail its neighbours: write each on its own.
      for (const p of batch) await this.insert([p]);
    }
  }

  private async insertRows(rows: InboxRow[]): Promise<void> {
    try {
      const db = this.db;
      if (!db) throw new Error('case inbox destination used before open()');
      const values = rows.map((row) => INBOX_COLUMNS.map(([column]) => row[column]));
      await db.kysely.executeQuery(bulkInsert(db.dialect, this.config.table, INBOX_COLUMNS, values, 'on conflict ("id") do nothing'));
    } catch (err) {
      // The case-system database being down or locked is worth retrying.
      throw new DeliveryError(`case inbox write failed: ${(err as Error).message}`, true);
    }
  }

  /**
   * Rows still waiting (lingering for company, or queued behind an insert) are written first,
   * so that deliveries under way when the engine stops complete instead of failing for a retry.
   */
  async close(): Promise<void> {
    if (this.pending.length > 0) this.startInserts();
    while (this.inserting > 0 || this.pending.length > 0) {
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
    await this.db?.close();
    this.db = undefined;
  }
}
