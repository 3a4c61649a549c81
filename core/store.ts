// The message store's contract: what the channel runtime and the server rely on. The
// implementation (adapters/store/message-store.ts) keeps it in SQLite (embedded default) or
// PostgreSQL, content encrypted at rest and metadata searchable.
import { v7 as uuidv7 } from 'uuid';

/** A new message id: a UUIDv7, so ids sort by time of arrival. */
export function newMessageId(): string {
  return uuidv7();
}

// Once a message is queued, what `get`/`list` report follows its destinations (see deliveryStatus):
// queued, partially-sent, sent, dead-lettered (or filtered when every destination filtered it out).
export const MESSAGE_STATUSES = ['received', 'rejected', 'duplicate', 'filtered', 'transformed', 'queued', 'partially-sent', 'sent', 'dead-lettered', 'errored'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const DESTINATION_STATUSES = ['queued', 'filtered', 'retrying', 'sent', 'errored', 'dead-lettered'] as const;
export type DestinationStatus = (typeof DESTINATION_STATUSES)[number];

/** Destination states that still expect a delivery attempt. */
export const PENDING_DESTINATION_STATUSES: readonly DestinationStatus[] = ['queued', 'retrying', 'errored'];

/**
 * The status of a queued message from its destinations' states: dead-lettered when any
 * destination gave up; sent when every destination sent it (or filtered it out) and at least
 * one sent it; filtered when every destination filtered it out; partially-sent when some sent
 * it and others are still pending; otherwise queued. Other stored statuses stand as they are.
 */
export function deliveryStatus(stored: MessageStatus, destinations: readonly DestinationStatus[]): MessageStatus {
  if (stored !== 'queued' || destinations.length === 0) return stored;
  if (destinations.includes('dead-lettered')) return 'dead-lettered';
  const sent = destinations.includes('sent');
  const pending = destinations.some((d) => PENDING_DESTINATION_STATUSES.includes(d));
  if (sent) return pending ? 'partially-sent' : 'sent';
  return pending ? 'queued' : 'filtered';
}

/**
 * The stages of a message's content: `raw` as received and `transformed` (a record channel's
 * mapped bundle) belong to the message; `sent` and `response` are what one destination reports
 * it sent and what came back (a FHIR transaction-response, an ACK, a failure's OperationOutcome),
 * kept per destination.
 */
export const CONTENT_STAGES = ['raw', 'transformed', 'sent', 'response'] as const;
export type ContentStage = (typeof CONTENT_STAGES)[number];

/** The stages a destination reports about one delivery. */
export type DeliveryStage = Extract<ContentStage, 'sent' | 'response'>;

/** What a destination reports about one delivery: only what it has; nothing is stored for a stage left out. */
export type DeliveryContent = Partial<Record<DeliveryStage, string>>;

/** One stored stage of a message's content; `destination` for the stages a destination reported. */
export interface StoredContent {
  stage: ContentStage;
  destination?: string;
}

export interface NewMessage {
  /** The id to store it under (a UUIDv7, see newMessageId), when the caller needs it before the write. */
  id?: string;
  channel: string;
  receivedAt: Date;
  /** Sending system/facility (HL7 MSH-4) or remote address. */
  sender?: string;
  /** Sender's message id (HL7 MSH-10). With `sender` and `channel`, the duplicate key. */
  controlId?: string;
  /** e.g. `ADT^A01`. */
  messageType?: string;
  /** Patient key used for ordering and search (e.g. NHS number or MRN). */
  patientKey?: string;
  status: MessageStatus;
  error?: string;
  raw: Buffer | string;
}

export interface ReceiveResult {
  id: string;
  /** True when (channel, sender, controlId) was already stored: `id` is the original's. */
  duplicate: boolean;
}

export interface DestinationState {
  destination: string;
  status: DestinationStatus;
  attempts: number;
  error?: string;
  updatedAt: Date;
}

export interface MessageRecord {
  id: string;
  channel: string;
  receivedAt: Date;
  sender?: string;
  controlId?: string;
  messageType?: string;
  patientKey?: string;
  status: MessageStatus;
  error?: string;
  destinations: DestinationState[];
}

export interface MessageFilter {
  channel?: string;
  status?: MessageStatus;
  destinationStatus?: DestinationStatus;
  from?: Date;
  to?: Date;
  messageType?: string;
  controlId?: string;
  patientKey?: string;
  limit?: number;
  /** Oldest first (default newest first). */
  oldestFirst?: boolean;
  /**
   * Paging, newest first: only messages listed after this one (received earlier, or at the same
   * millisecond with a smaller id), so the next page starts where the last one ended.
   */
  after?: { receivedAt: Date; id: string };
}

export interface MessageEvent {
  at: Date;
  event: string;
  destination?: string;
  detail?: string;
}

export interface WriteOptions {
  /** Most milliseconds the write may wait for others of its kind before it commits. */
  lingerMs?: number;
}

export interface MessageStore {
  /**
   * Store a new message (metadata, encrypted raw content, 'received' event) durably. When
   * (channel, sender, controlId) is already stored, nothing new is stored and the original id
   * comes back with `duplicate: true` (a 'duplicate' event is added to the original).
   */
  receive(message: NewMessage): Promise<ReceiveResult>;
  /** Save (or replace) one of the message's own stages, sealed; a destination's stages come with setDestinationStatus. */
  saveContent(id: string, stage: ContentStage, content: Buffer | string): Promise<void>;
  /** Decrypted content (of `destination`'s stage when given), or undefined when never saved or pruned. */
  readContent(id: string, stage: ContentStage, destination?: string): Promise<Buffer | undefined>;
  /** The stages stored for a message (nothing decrypted): its own first, then each destination's, by name. */
  contentStages(id: string): Promise<StoredContent[]>;
  /**
   * `options.lingerMs`: the caller does not wait for this write at once, so it may wait that
   * long for other status writes to share one statement and commit (it still resolves on commit).
   * `options.destinations` (with 'queued'): the destinations the message was queued for; each
   * gets a 'queued' state unless it already has one, and a 'queued' event goes in the history,
   * in the same commit (`detail` its detail). The status `get` and `list` report then follows
   * those destinations.
   */
  setStatus(id: string, status: MessageStatus, error?: string, options?: WriteOptions & { destinations?: readonly string[]; detail?: string }): Promise<void>;
  /**
   * Upsert one destination's state; `attempts` left out keeps the stored count. `lingerMs` as for
   * setStatus. `recordEvent` also adds the change to the history (event = status, detail = error)
   * in the same commit. `content`: what the destination reported it sent and got back, sealed and
   * saved as that destination's stages (replacing earlier ones) in the same commit.
   */
  setDestinationStatus(
    id: string,
    destination: string,
    status: DestinationStatus,
    options?: { attempts?: number; error?: string; recordEvent?: boolean; content?: DeliveryContent } & WriteOptions,
  ): Promise<void>;
  addEvent(id: string, event: string, options?: { destination?: string; detail?: string; at?: Date }): Promise<void>;
  get(id: string): Promise<MessageRecord | undefined>;
  /** Whether a message is stored under `id` (committed): one light query, where `get` reads the record. */
  isStored(id: string): Promise<boolean>;
  /** Lifecycle history of one message, oldest first (receiving and queueing first within a millisecond). */
  events(id: string): Promise<MessageEvent[]>;
  /** Messages matching every given criterion, newest first (default limit 100). */
  list(filter?: MessageFilter): Promise<MessageRecord[]>;
  /**
   * Retention: delete the content (all stages) of a channel's messages received before
   * `olderThan`. Metadata, destination state and events stay. Returns content rows deleted.
   */
  prune(options: { channel: string; olderThan: Date }): Promise<number>;
  /**
   * The queue partition key of a patient key: stable, the same for the same patient, and never
   * the key itself (a keyed hash), so queued items and broker headers do not carry it in clear.
   */
  partitionKeyOf(patientKey: string): string;
  /** Wait for queued writes. */
  close(): Promise<void>;
}
