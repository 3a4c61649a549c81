// The message store: searchable metadata, encrypted content, per-destination state and the
// lifecycle history, over SQLite or PostgreSQL. Writes go through group commit so that many
// concurrent receives cost one transaction.
import { CompiledQuery, sql, type Kysely, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Db, DialectName } from './db.js';
import { PREPARE } from './pg-prepared.js';
import { open, seal, type ContentKeyRing } from './crypto.js';
import { GroupCommitter, ItemFailure, type BulkWrite } from './group-commit.js';
import { sqliteWriter } from './shared-writer.js';
import { patientKeyHashes, hashPatientKey } from './index-key.js';
import { patientKeyColumns, patientKeyOf } from './patient-key.js';
import { bulkInsert, bulkUpdateWhereIn, chainStatements, unnestColumns, type PgColumnType, type SqlValue, type TypedColumns } from './bulk-sql.js';
import type { MessageContentTable, MessageEventsTable, MessagesTable, StoreDatabase } from './schema.js';
import { CONTENT_STAGES, PENDING_DESTINATION_STATUSES, deliveryStatus, newMessageId } from '../../core/store.js';
import type {
  ContentStage,
  DeliveryContent,
  DestinationState,
  DestinationStatus,
  MessageEvent,
  MessageFilter,
  MessageStore,
  MessageRecord,
  MessageStatus,
  NewMessage,
  ReceiveResult,
  StoredContent,
  WriteOptions,
} from '../../core/store.js';

export interface MessageStoreOptions {
  /** Most writes committed in one transaction (default 500). */
  maxBatch?: number;
  /** Concurrent group-commit transactions (default 1 on SQLite, 2 on PostgreSQL). */
  maxConcurrentCommits?: number;
}

const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 10_000;
/** Events that come before any delivery when they share a millisecond with one. */
const PIPELINE_ORDER = ['received', 'queued'];
/** Rows per multi-row insert: keeps bound parameters well under both engines' limits. */
const INSERT_CHUNK = 200;

/** A transaction, or the database itself for a write that is one statement. */
type Executor = Kysely<StoreDatabase>;

/** Binds sealed content to its message, stage and destination: a row moved elsewhere does not open. */
function contentAad(messageId: string, stage: ContentStage, destination = ''): string {
  return destination ? `message:${messageId}:${stage}:${destination}` : `message:${messageId}:${stage}`;
}

function toBuffer(content: Buffer | string): Buffer {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The message store (core/store.ts) on SQLite or PostgreSQL through Kysely. */
export class SqlMessageStore implements MessageStore {
  private readonly kysely: Kysely<StoreDatabase>;
  private readonly dialect: DialectName;
  private readonly writes: GroupCommitter<StoreDatabase>;
  /**
   * On PostgreSQL, receives (a sender waits for each), status writes and destination writes each
   * have a committer of their own, so that a batch holds one kind of write: one statement and one
   * round trip, with no transaction around it (BulkWrite.applyAlone). Mixed in one batch they are
   * a transaction (BEGIN, a statement or more per kind, COMMIT), each statement a round trip —
   * and a receive would wait on the lingering status writes that joined it. On SQLite they all
   * share the database's one writer (one fsync a commit).
   */
  private readonly receives: GroupCommitter<StoreDatabase>;
  private readonly statuses: GroupCommitter<StoreDatabase>;
  private readonly destinations: GroupCommitter<StoreDatabase>;
  private readonly receiveWrite: BulkWrite<StoreDatabase, NewMessage, ReceiveResult>;
  // Per-message status writes are bulk writes too: a group commit applies all of a batch's
  // status changes in a few multi-row statements instead of one round trip per message.
  // Each of these is one statement for a batch that forms a single run, and then needs no
  // transaction of its own (see BulkWrite.applyAlone).
  private readonly statusWrite: BulkWrite<StoreDatabase, StatusChange, void> = {
    name: 'status',
    apply: (trx, items) => applyStatusChanges(trx, this.dialect, statusRuns(this.dialect, items), items.length),
    applyAlone: (db, items) => {
      const runs = statusRuns(this.dialect, items);
      if (runs.length !== 1) return undefined;
      // Queueing also writes destination rows and events: one statement only on PostgreSQL.
      if (this.dialect === 'postgres' && items.some((c) => c.destinations)) return runAlone(db, queuedStatement(runs[0]), items.length);
      return items.some((c) => c.destinations) ? undefined : applyStatusChanges(db, this.dialect, runs, items.length);
    },
  };
  private readonly destinationWrite: BulkWrite<StoreDatabase, DestinationChange, void> = {
    name: 'destination-status',
    apply: (trx, items) => applyDestinationChanges(trx, this.dialect, destinationRuns(this.dialect, items), items.length),
    applyAlone: (db, items) => {
      const runs = destinationRuns(this.dialect, items);
      if (runs.length !== 1) return undefined;
      // The history events and reported content ride in the same statement on PostgreSQL.
      const more = items.some((c) => c.event || c.content);
      if (this.dialect === 'postgres' && more) return runAlone(db, destinationStatement(runs[0]), items.length);
      return more ? undefined : applyDestinationChanges(db, this.dialect, runs, items.length);
    },
  };
  private readonly eventWrite: BulkWrite<StoreDatabase, NewEvent, void> = {
    name: 'event',
    apply: (trx, items) => insertEvents(trx, this.dialect, items).then(() => items.map(() => undefined)),
    applyAlone: (db, items) =>
      this.dialect === 'postgres' || items.length <= INSERT_CHUNK ? insertEvents(db, this.dialect, items).then(() => items.map(() => undefined)) : undefined,
  };

  /** `db` must already be migrated (see `migrateToLatest` in ./migrations/index.ts). */
  constructor(
    db: Db<StoreDatabase>,
    private readonly keys: ContentKeyRing,
    options: MessageStoreOptions = {},
  ) {
    this.kysely = db.kysely;
    this.dialect = db.dialect;
    // SQLite: the database's one writer, shared with the embedded queue and the audit trail.
    this.writes =
      db.dialect === 'sqlite' && options.maxBatch === undefined && options.maxConcurrentCommits === undefined
        ? sqliteWriter(db)
        : new GroupCommitter(db.kysely, {
            maxBatch: options.maxBatch ?? 500,
            maxConcurrent: options.maxConcurrentCommits ?? (db.dialect === 'postgres' ? 2 : 1),
            immediate: db.dialect === 'sqlite',
          });
    const ownCommitter = (maxConcurrent: number) =>
      db.dialect === 'postgres' ? new GroupCommitter(db.kysely, { maxBatch: options.maxBatch ?? 500, maxConcurrent: options.maxConcurrentCommits ?? maxConcurrent }) : this.writes;
    this.receives = ownCommitter(2);
    // Nobody waits on these at once: one batch at a time gathers more into each statement.
    this.statuses = ownCommitter(1);
    this.destinations = ownCommitter(1);
    this.receiveWrite = {
      name: 'receive',
      apply: (trx, items) => this.insertReceived(trx, items, false),
      // PostgreSQL stores new messages, their content and events in one statement.
      applyAlone: (db, items) => (this.dialect === 'postgres' ? this.insertReceived(db, items, true) : undefined),
    };
  }

  /**
   * Store a new message (metadata, encrypted raw content, 'received' event) durably. When
   * (channel, sender, controlId) is already stored, nothing new is stored and the original id
   * comes back with `duplicate: true` (a 'duplicate' event is added to the original).
   */
  receive(message: NewMessage): Promise<ReceiveResult> {
    return this.receives.submit(this.receiveWrite, message);
  }

  async saveContent(id: string, stage: ContentStage, content: Buffer | string): Promise<void> {
    const row = this.sealContent(id, stage, '', content);
    await this.writes.run((trx) =>
      trx
        .insertInto('message_content')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['message_id', 'stage', 'destination']).doUpdateSet({ key_id: row.key_id, iv: row.iv, tag: row.tag, ciphertext: row.ciphertext }),
        )
        .execute(),
    );
  }

  /** Decrypted content (of `destination`'s stage when given), or undefined when never saved or pruned. */
  async readContent(id: string, stage: ContentStage, destination = ''): Promise<Buffer | undefined> {
    const row = await this.kysely
      .selectFrom('message_content')
      .select(['key_id', 'iv', 'tag', 'ciphertext'])
      .where('message_id', '=', id)
      .where('stage', '=', stage)
      .where('destination', '=', destination)
      .executeTakeFirst();
    if (!row) return undefined;
    return open(this.keys, { keyId: row.key_id, iv: row.iv, tag: row.tag, ciphertext: row.ciphertext }, contentAad(id, stage, destination));
  }

  /** The stages stored for a message (nothing decrypted): its own first, then each destination's, by name. */
  async contentStages(id: string): Promise<StoredContent[]> {
    const rows = await this.kysely.selectFrom('message_content').select(['stage', 'destination']).where('message_id', '=', id).execute();
    const order = (stage: string) => (CONTENT_STAGES as readonly string[]).indexOf(stage);
    rows.sort((a, b) => (a.destination === b.destination ? order(a.stage) - order(b.stage) : a.destination < b.destination ? -1 : 1));
    return rows.map((r) => ({ stage: r.stage as ContentStage, ...(r.destination ? { destination: r.destination } : {}) }));
  }

  private sealContent(id: string, stage: ContentStage, destination: string, content: Buffer | string): MessageContentTable {
    const sealed = seal(this.keys, toBuffer(content), contentAad(id, stage, destination));
    return { message_id: id, stage, destination, key_id: sealed.keyId, iv: sealed.iv, tag: sealed.tag, ciphertext: sealed.ciphertext };
  }

  /**
   * `options.lingerMs`: the caller does not wait for this write at once, so it may wait that
   * long for other status writes to share one statement and commit (it still resolves on commit).
   * `options.destinations` (with 'queued'): the destinations the message was queued for; each
   * gets a 'queued' state unless it already has one, and a 'queued' event goes in the history,
   * in the same commit (`detail` its detail). The status `get` and `list` report then follows
   * those destinations.
   */
  async setStatus(id: string, status: MessageStatus, error?: string, options: WriteOptions & { destinations?: readonly string[]; detail?: string } = {}): Promise<void> {
    const destinations = options.destinations?.length ? options.destinations : undefined;
    await this.statuses.submit(this.statusWrite, { id, status, error: error ?? null, destinations, detail: options.detail ?? null, at: Date.now() }, options);
  }

  /**
   * Upsert one destination's state; `attempts` left out keeps the stored count. `lingerMs` as for
   * setStatus. `recordEvent` also adds the change to the history (event = status, detail = error)
   * in the same commit. `content`: the destination's own stages, sealed, in the same commit.
   */
  async setDestinationStatus(
    id: string,
    destination: string,
    status: DestinationStatus,
    options: { attempts?: number; error?: string; recordEvent?: boolean; content?: DeliveryContent } & WriteOptions = {},
  ): Promise<void> {
    const content = options.content ? this.sealDelivery(id, destination, options.content) : undefined;
    await this.destinations.submit(this.destinationWrite, { id, destination, status, attempts: options.attempts, error: options.error ?? null, event: options.recordEvent, content, at: Date.now() }, options);
  }

  /** A destination's report as sealed rows; undefined when it reported nothing. */
  private sealDelivery(id: string, destination: string, content: DeliveryContent): MessageContentTable[] | undefined {
    const rows = (['sent', 'response'] as const).flatMap((stage) => (content[stage] !== undefined ? [this.sealContent(id, stage, destination, content[stage])] : []));
    return rows.length ? rows : undefined;
  }

  async addEvent(id: string, event: string, options: { destination?: string; detail?: string; at?: Date } = {}): Promise<void> {
    const at = (options.at ?? new Date()).getTime();
    await this.writes.submit(this.eventWrite, { message_id: id, at, event, destination: options.destination ?? null, detail: options.detail ?? null });
  }

  async get(id: string): Promise<MessageRecord | undefined> {
    const row = await this.kysely.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const destinations = await this.destinationsOf([id]);
    return this.toRecord(row, destinations.get(id) ?? []);
  }

  async isStored(id: string): Promise<boolean> {
    return (await this.kysely.selectFrom('messages').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  /**
   * Lifecycle history of one message, oldest first. By time, not by write order: a delivery may
   * be written before the lingering 'queued' write that preceded it; within one millisecond
   * receiving and queueing come first.
   */
  async events(id: string): Promise<MessageEvent[]> {
    const rows = await this.kysely
      .selectFrom('message_events')
      .select(['at', 'event', 'destination', 'detail'])
      .where('message_id', '=', id)
      .orderBy('id')
      .execute();
    // Stable: events of one millisecond and rank stay in write order.
    const rank = (event: string) => PIPELINE_ORDER.indexOf(event) >>> 0;
    rows.sort((a, b) => a.at - b.at || rank(a.event) - rank(b.event));
    return rows.map((r) => ({
      at: new Date(r.at),
      event: r.event,
      ...(r.destination !== null ? { destination: r.destination } : {}),
      ...(r.detail !== null ? { detail: r.detail } : {}),
    }));
  }

  /** Messages matching every given criterion, newest first (default limit 100). */
  async list(filter: MessageFilter = {}): Promise<MessageRecord[]> {
    const limit = Math.min(Math.max(1, filter.limit ?? DEFAULT_LIST_LIMIT), MAX_LIST_LIMIT);
    let query = this.kysely.selectFrom('messages').selectAll();
    if (filter.channel !== undefined) query = query.where('channel', '=', filter.channel);
    if (filter.status !== undefined) query = whereStatus(query, filter.status);
    if (filter.messageType !== undefined) query = query.where('message_type', '=', filter.messageType);
    if (filter.controlId !== undefined) query = query.where('control_id', '=', filter.controlId);
    if (filter.patientKey !== undefined) {
      // The column holds keyed hashes only: the key as each index key would have hashed it.
      const hashes = patientKeyHashes(this.keys, filter.patientKey);
      query = hashes.length === 1 ? query.where('patient_key', '=', hashes[0]) : query.where('patient_key', 'in', hashes);
    }
    if (filter.from !== undefined) query = query.where('received_at', '>=', filter.from.getTime());
    if (filter.to !== undefined) query = query.where('received_at', '<', filter.to.getTime());
    if (filter.destinationStatus !== undefined) {
      const wanted = filter.destinationStatus;
      query = query.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('message_destinations as d')
            .select('d.message_id')
            .whereRef('d.message_id', '=', 'messages.id')
            .where('d.status', '=', wanted),
        ),
      );
    }
    if (filter.after !== undefined && !filter.oldestFirst) {
      const at = filter.after.receivedAt.getTime();
      const id = filter.after.id;
      // The plain bound lets the index seek to the cursor; the OR then only settles ties.
      query = query.where('received_at', '<=', at).where((eb) => eb.or([eb('received_at', '<', at), eb('id', '<', id)]));
    }
    const dir = filter.oldestFirst ? 'asc' : 'desc';
    const rows = await query.orderBy('received_at', dir).orderBy('id', dir).limit(limit).execute();
    const destinations = await this.destinationsOf(rows.map((r) => r.id));
    return rows.map((r) => this.toRecord(r, destinations.get(r.id) ?? []));
  }

  /** A keyed hash of the patient key: the same for the same patient, never the key itself. */
  partitionKeyOf(patientKey: string): string {
    return hashPatientKey(this.keys, patientKey);
  }

  /**
   * Retention: delete the content (all stages) of a channel's messages received before
   * `olderThan`. Metadata, destination state and events stay. Returns content rows deleted.
   */
  async prune(options: { channel: string; olderThan: Date }): Promise<number> {
    const result = await this.writes.run(async (trx) => {
      const deleted = await trx
        .deleteFrom('message_content')
        .where('message_id', 'in', (eb) =>
          eb.selectFrom('messages').select('id').where('channel', '=', options.channel).where('received_at', '<', options.olderThan.getTime()),
        )
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    });
    return result;
  }

  /** Wait for queued writes. The Db is owned by whoever opened it and is not closed here. */
  async close(): Promise<void> {
    await Promise.all([...new Set([this.receives, this.statuses, this.destinations, this.writes])].map((c) => c.drain()));
  }

  private toRecord(row: MessagesTable, destinations: DestinationState[]): MessageRecord {
    const patientKey = patientKeyOf(this.keys, row.id, row);
    return {
      id: row.id,
      channel: row.channel,
      receivedAt: new Date(row.received_at),
      ...(row.sender !== '' ? { sender: row.sender } : {}),
      ...(row.control_id !== null ? { controlId: row.control_id } : {}),
      ...(row.message_type !== null ? { messageType: row.message_type } : {}),
      ...(patientKey !== undefined ? { patientKey } : {}),
      status: deliveryStatus(row.status as MessageStatus, destinations.map((d) => d.status)),
      ...(row.error !== null ? { error: row.error } : {}),
      destinations,
    };
  }

  private async destinationsOf(ids: string[]): Promise<Map<string, DestinationState[]>> {
    const byMessage = new Map<string, DestinationState[]>();
    for (const chunk of chunks(ids, 500)) {
      if (chunk.length === 0) continue;
      const rows = await this.kysely
        .selectFrom('message_destinations')
        .selectAll()
        .where('message_id', 'in', chunk)
        .orderBy('destination')
        .execute();
      for (const r of rows) {
        const state: DestinationState = {
          destination: r.destination,
          status: r.status as DestinationStatus,
          attempts: r.attempts,
          updatedAt: new Date(r.updated_at),
          ...(r.error !== null ? { error: r.error } : {}),
        };
        const list = byMessage.get(r.message_id);
        if (list) list.push(state);
        else byMessage.set(r.message_id, [state]);
      }
    }
    return byMessage;
  }

  /**
   * Bulk part of receive: insert what is new, resolve duplicates to the stored original. With
   * `alone` (PostgreSQL, no transaction) the insert of new messages is one statement and commits
   * by itself; a failure after it fails only the duplicates.
   */
  private async insertReceived(db: Executor, messages: NewMessage[], alone: boolean): Promise<(ReceiveResult | ItemFailure)[]> {
    const now = Date.now();
    const rows: MessagesTable[] = messages.map((m) => {
      const id = m.id ?? newMessageId();
      return {
        id,
        channel: m.channel,
        received_at: m.receivedAt.getTime(),
        sender: m.sender ?? '',
        control_id: m.controlId ?? null,
        message_type: m.messageType ?? null,
        ...patientKeyColumns(this.keys, id, m.patientKey),
        status: m.status,
        error: m.error ?? null,
        updated_at: now,
      };
    });
    const sealRaw = (i: number): MessageContentTable => {
      const sealed = seal(this.keys, toBuffer(messages[i].raw), contentAad(rows[i].id, 'raw'));
      return { message_id: rows[i].id, stage: 'raw', destination: '', key_id: sealed.keyId, iv: sealed.iv, tag: sealed.tag, ciphertext: sealed.ciphertext };
    };
    const inserted = new Set<string>();
    if (this.dialect === 'postgres') {
      // Conflict on the duplicate key (also within this batch) inserts nothing for that row;
      // PostgreSQL waits for a concurrent inserter of the same key, so this is race-safe.
      const returned = await db.executeQuery<{ id: string }>(receiveStatement(rows, rows.map((_, i) => sealRaw(i)), now));
      for (const r of returned.rows) inserted.add(r.id);
    } else {
      for (const chunk of chunks(rows, INSERT_CHUNK)) {
        const returned = await db.executeQuery<{ id: string }>(bulkInsert(this.dialect, 'messages', MESSAGE_COLUMNS, valuesOf(MESSAGE_COLUMNS, chunk), 'on conflict do nothing returning "id"'));
        for (const r of returned.rows) inserted.add(r.id);
      }
      const contentRows = rows.flatMap((row, i) => (inserted.has(row.id) ? [sealRaw(i)] : []));
      for (const chunk of chunks(contentRows, INSERT_CHUNK)) await db.executeQuery(bulkInsert(this.dialect, 'message_content', CONTENT_COLUMNS, valuesOf(CONTENT_COLUMNS, chunk)));
      await insertEvents(db, this.dialect, rows.filter((row) => inserted.has(row.id)).map((row) => ({ message_id: row.id, at: now, event: 'received', destination: null, detail: null })));
    }
    const results: (ReceiveResult | ItemFailure)[] = rows.map((row) => ({ id: row.id, duplicate: false }));
    const duplicates = rows.map((_, i) => i).filter((i) => !inserted.has(rows[i].id));
    if (duplicates.length === 0) return results;
    try {
      const events: NewEvent[] = [];
      for (const i of duplicates) {
        const row = rows[i];
        if (row.control_id === null) throw new Error(`message insert returned no row for ${row.id}`);
        const original = await db
          .selectFrom('messages')
          .select('id')
          .where('channel', '=', row.channel)
          .where('sender', '=', row.sender)
          .where('control_id', '=', row.control_id)
          .executeTakeFirstOrThrow();
        events.push({ message_id: original.id, at: now, event: 'duplicate', destination: null, detail: 'same sender and control id received again' });
        results[i] = { id: original.id, duplicate: true };
      }
      await insertEvents(db, this.dialect, events);
    } catch (err) {
      if (!alone) throw err;
      // The new messages are committed already: only the duplicates failed.
      for (const i of duplicates) results[i] = new ItemFailure(err);
    }
    return results;
  }
}

type NewEvent = Omit<MessageEventsTable, 'id'>;

/** The messages and message_destinations tables' columns in bulk-insert order (also the search benchmark's seeding). */
export const MESSAGE_COLUMNS = [
  ['id', 'text'],
  ['channel', 'text'],
  ['received_at', 'bigint'],
  ['sender', 'text'],
  ['control_id', 'text'],
  ['message_type', 'text'],
  ['patient_key', 'text'],
  ['patient_key_sealed', 'text'],
  ['status', 'text'],
  ['error', 'text'],
  ['updated_at', 'bigint'],
] as const satisfies readonly (readonly [keyof MessagesTable, PgColumnType])[];
const CONTENT_COLUMNS = [
  ['message_id', 'text'],
  ['stage', 'text'],
  ['destination', 'text'],
  ['key_id', 'text'],
  ['iv', 'bytea'],
  ['tag', 'bytea'],
  ['ciphertext', 'bytea'],
] as const satisfies readonly (readonly [keyof MessageContentTable, PgColumnType])[];
const EVENT_COLUMNS = [
  ['message_id', 'text'],
  ['at', 'bigint'],
  ['event', 'text'],
  ['destination', 'text'],
  ['detail', 'text'],
] as const satisfies readonly (readonly [keyof NewEvent, PgColumnType])[];
export const DESTINATION_COLUMNS = [
  ['message_id', 'text'],
  ['destination', 'text'],
  ['status', 'text'],
  ['attempts', 'integer'],
  ['error', 'text'],
  ['updated_at', 'bigint'],
] as const satisfies TypedColumns;

/** Rows as value arrays in the order of `columns`. */
function valuesOf<T>(columns: readonly (readonly [keyof T & string, PgColumnType])[], rows: T[]): SqlValue[][] {
  return rows.map((row) => columns.map(([column]) => row[column] as SqlValue));
}

/**
 * PostgreSQL receive in one statement: the messages (arrays, unnest), the sealed raw content
 * of those actually inserted (a VALUES list: binary parameters) and their 'received' events.
 * Returns the ids inserted; a duplicate key inserts nothing and is left out.
 */
const PREPARED_RECEIVE_ROWS = 8;

function receiveStatement(rows: MessagesTable[], content: MessageContentTable[], now: number): CompiledQuery {
  const quoted = (columns: TypedColumns) => columns.map(([c]) => `"${c}"`).join(', ');
  const params: unknown[] = MESSAGE_COLUMNS.map(([column]) => rows.map((row) => row[column]));
  const values = content
    .map((row) => `(${CONTENT_COLUMNS.map(([column, type]) => `$${params.push(row[column])}::${type}`).join(', ')})`)
    .join(', ');
  const at = `$${params.push(now)}::bigint`;
  // The text depends on the batch size (the VALUES list): small batches, where planning costs
  // more than the writes, are prepared (a few texts per connection); larger ones are not.
  const text =
    (content.length <= PREPARED_RECEIVE_ROWS ? PREPARE : '') +
    `with m as (insert into "messages" (${quoted(MESSAGE_COLUMNS)}) select * from ${unnestColumns(MESSAGE_COLUMNS, 1)} on conflict do nothing returning "id"), ` +
    `c as (insert into "message_content" (${quoted(CONTENT_COLUMNS)}) select v.* from (values ${values}) as v(${quoted(CONTENT_COLUMNS)}) where v."message_id" in (select "id" from m)), ` +
    `e as (insert into "message_events" ("message_id", "at", "event") select "id", ${at}, 'received' from m) ` +
    'select "id" from m';
  return CompiledQuery.raw(text, params);
}

interface StatusChange {
  id: string;
  status: MessageStatus;
  error: string | null;
  /** Destinations the message was queued for (see setStatus). */
  destinations?: readonly string[];
  /** Detail of the 'queued' event written with `destinations`. */
  detail: string | null;
  /** When it happened (the event's time: a lingering write commits later). */
  at: number;
}

interface DestinationChange {
  id: string;
  destination: string;
  status: DestinationStatus;
  /** Undefined keeps the stored count. */
  attempts?: number;
  error: string | null;
  /** Also add the change to the message's history. */
  event?: boolean;
  /** The destination's reported stages, sealed (see setDestinationStatus). */
  content?: MessageContentTable[];
  /** When it happened (the event's time). */
  at: number;
}

/** Consecutive runs of items that `sameRun` accepts into one statement, in call order. */
function runs<T>(items: T[], maxRun: number, sameRun: (run: T[], next: T) => boolean): T[][] {
  const out: T[][] = [];
  for (const item of items) {
    const last = out[out.length - 1];
    if (last && last.length < maxRun && sameRun(last, item)) last.push(item);
    else out.push([item]);
  }
  return out;
}

/** PostgreSQL takes a whole run as array parameters; SQLite binds one parameter per value. */
const maxRun = (dialect: DialectName): number => (dialect === 'postgres' ? Infinity : INSERT_CHUNK);

/** Runs of equal (status, error): call order holds when an id changes twice. */
function statusRuns(dialect: DialectName, items: StatusChange[]): StatusChange[][] {
  return runs(items, maxRun(dialect), (r, next) => r[0].status === next.status && r[0].error === next.error);
}

const statusUpdate = (dialect: DialectName, run: StatusChange[], now: number): CompiledQuery =>
  bulkUpdateWhereIn(dialect, 'messages', { status: run[0].status, error: run[0].error, updated_at: now }, 'id', run.map((c) => c.id));

/** 'queued' rows for the destinations a message was queued for; a state already there stays (a fast delivery may have beaten this write). */
const queuedDestinations = (dialect: DialectName, changes: StatusChange[], now: number): CompiledQuery =>
  bulkInsert(
    dialect,
    'message_destinations',
    DESTINATION_COLUMNS,
    changes.flatMap((c) => (c.destinations ?? []).map((d) => [c.id, d, 'queued', 0, null, now])),
    'on conflict ("message_id", "destination") do nothing',
  );

const queuedEvents = (changes: StatusChange[]): NewEvent[] =>
  changes.map((c) => ({ message_id: c.id, at: c.at, event: c.status, destination: null, detail: c.detail }));

/** One UPDATE per run; then the queued destinations and their events. */
async function applyStatusChanges(db: Executor, dialect: DialectName, statusRuns: StatusChange[][], count: number): Promise<void[]> {
  const now = Date.now();
  for (const run of statusRuns) await db.executeQuery(statusUpdate(dialect, run, now));
  const queued = statusRuns.flat().filter((c) => c.destinations);
  for (const chunk of chunks(queued, maxRun(dialect))) await db.executeQuery(queuedDestinations(dialect, chunk, now));
  await insertEvents(db, dialect, queuedEvents(queued));
  return new Array<void>(count).fill(undefined);
}

/** PostgreSQL: a run of status changes with their queued destinations and events, one statement. */
function queuedStatement(run: StatusChange[]): CompiledQuery {
  const now = Date.now();
  const queued = run.filter((c) => c.destinations);
  return chainStatements([statusUpdate('postgres', run, now), queuedDestinations('postgres', queued, now), eventInsert('postgres', queuedEvents(queued))]);
}

/** PostgreSQL: a run of destination changes with their history events, one statement. */
function destinationStatement(run: DestinationChange[]): CompiledQuery {
  const now = Date.now();
  const content = reportedContent(run);
  return chainStatements([
    destinationUpsert('postgres', run, now),
    ...(content.length ? [contentUpsert('postgres', content)] : []),
    eventInsert('postgres', destinationEvents(run)),
  ]);
}

async function runAlone(db: Executor, query: CompiledQuery, count: number): Promise<void[]> {
  await db.executeQuery(query);
  return new Array<void>(count).fill(undefined);
}

/**
 * Runs for multi-row upserts. A run never holds one (message, destination) twice (PostgreSQL
 * refuses to update a row twice in one statement) and either sets attempts for all rows or for none.
 */
function destinationRuns(dialect: DialectName, items: DestinationChange[]): DestinationChange[][] {
  const keyOf = (c: DestinationChange) => `${c.id}\u0000${c.destination}`;
  const keys = new Map<DestinationChange[], Set<string>>();
  return runs(items, maxRun(dialect), (run, next) => {
    if ((run[0].attempts === undefined) !== (next.attempts === undefined)) return false;
    let seen = keys.get(run);
    if (!seen) keys.set(run, (seen = new Set(run.map(keyOf))));
    if (seen.has(keyOf(next))) return false;
    seen.add(keyOf(next));
    return true;
  });
}

function destinationUpsert(dialect: DialectName, run: DestinationChange[], now: number): CompiledQuery {
  const update = ['status', 'error', 'updated_at', ...(run[0].attempts !== undefined ? ['attempts'] : [])].map((c) => `"${c}" = excluded."${c}"`).join(', ');
  const rows = run.map((c) => [c.id, c.destination, c.status, c.attempts ?? 0, c.error, now]);
  return bulkInsert(dialect, 'message_destinations', DESTINATION_COLUMNS, rows, `on conflict ("message_id", "destination") do update set ${update}`);
}

const destinationEvents = (changes: DestinationChange[]): NewEvent[] =>
  changes.filter((c) => c.event).map((c) => ({ message_id: c.id, at: c.at, event: c.status, destination: c.destination, detail: c.error }));

const reportedContent = (changes: DestinationChange[]): MessageContentTable[] => changes.flatMap((c) => c.content ?? []);

/** A destination's reported stages replace what it reported before (an earlier attempt's failure). */
const contentUpsert = (dialect: DialectName, rows: MessageContentTable[]): CompiledQuery =>
  bulkInsert(
    dialect,
    'message_content',
    CONTENT_COLUMNS,
    valuesOf(CONTENT_COLUMNS, rows),
    'on conflict ("message_id", "stage", "destination") do update set "key_id" = excluded."key_id", "iv" = excluded."iv", "tag" = excluded."tag", "ciphertext" = excluded."ciphertext"',
  );

async function applyDestinationChanges(db: Executor, dialect: DialectName, upsertRuns: DestinationChange[][], count: number): Promise<void[]> {
  const now = Date.now();
  for (const run of upsertRuns) {
    await db.executeQuery(destinationUpsert(dialect, run, now));
    // A run holds each (message, destination) once, so no row is upserted twice in one statement.
    for (const chunk of chunks(reportedContent(run), INSERT_CHUNK)) await db.executeQuery(contentUpsert(dialect, chunk));
  }
  await insertEvents(db, dialect, destinationEvents(upsertRuns.flat()));
  return new Array<void>(count).fill(undefined);
}

const eventInsert = (dialect: DialectName, items: NewEvent[]): CompiledQuery => bulkInsert(dialect, 'message_events', EVENT_COLUMNS, valuesOf(EVENT_COLUMNS, items));

async function insertEvents(db: Executor, dialect: DialectName, items: NewEvent[]): Promise<void> {
  for (const chunk of chunks(items, maxRun(dialect))) await db.executeQuery(eventInsert(dialect, chunk));
}

type MessageQuery = SelectQueryBuilder<StoreDatabase, 'messages', MessagesTable>;

/** Statuses a queued message takes from its destinations (deliveryStatus in core/store.ts). */
const DERIVED_STATUSES: readonly MessageStatus[] = ['queued', 'partially-sent', 'sent', 'dead-lettered', 'filtered'];

const statusList = (statuses: readonly string[]) => sql.join(statuses.map((s) => sql.lit(s)));

/**
 * "The status `list` reports is `status`", as SQL: deliveryStatus (core/store.ts) over the
 * message's destination rows, which the two must agree on. One correlated subquery per row,
 * through the destinations' primary key (message_id first): no planner can turn it into a scan
 * of every destination row, as PostgreSQL did with the EXISTS / NOT EXISTS pair this replaces.
 *
 * Written as a boolean CASE, not `<expression> = status`, for PostgreSQL's estimate: it has no
 * statistics for either, but takes an equality on an expression to match 0.5% of rows and a
 * boolean expression half. With 0.5%, a page (51 rows) over a week looked like it needed the
 * whole week, so it read and checked all of it and sorted (~90 ms at 1,000,000 messages)
 * instead of reading newest first and stopping at the 51st match.
 */
function reportedStatusIs(status: MessageStatus): RawBuilder<SqlBool> {
  const any = (statuses: readonly DestinationStatus[]) => sql`sum(case when d.status in (${statusList(statuses)}) then 1 else 0 end) > 0`;
  const pending = PENDING_DESTINATION_STATUSES;
  return sql<SqlBool>`case when messages.status <> 'queued' then messages.status = ${status} else (
    select case
      when count(*) = 0 then 'queued'
      when ${any(['dead-lettered'])} then 'dead-lettered'
      when ${any(['sent'])} then case when ${any(pending)} then 'partially-sent' else 'sent' end
      when ${any(pending)} then 'queued'
      else 'filtered' end
    from message_destinations d where d.message_id = messages.id) = ${status} end`;
}

/**
 * The `status` filter as `list` reports statuses. A status only ever stored as it is uses the
 * (status, received_at) index. A status a queued message can take from its destinations is
 * checked row by row on the newest messages first (the (received_at, id) index, as the page is
 * ordered), which stops at the page's last row: quick when the status is common in the range
 * searched, and at worst a pass over that range when it matches nothing.
 */
function whereStatus(query: MessageQuery, status: MessageStatus): MessageQuery {
  if (!DERIVED_STATUSES.includes(status)) return query.where('status', '=', status);
  return query.where(reportedStatusIs(status));
}
