// Row shapes of the store's tables as Kysely sees them. Times are epoch milliseconds.
import type { Generated } from 'kysely';

export interface MessagesTable {
  id: string;
  channel: string;
  received_at: number;
  /** '' when the sender is unknown, so the duplicate key still applies. */
  sender: string;
  control_id: string | null;
  message_type: string | null;
  /** Keyed hash of the patient's key (`h1:…`, index-key.ts); plaintext only in rows not yet rehashed. */
  patient_key: string | null;
  /** The patient's key sealed (patient-key-seal.ts); null when there is none. */
  patient_key_sealed: string | null;
  status: string;
  error: string | null;
  updated_at: number;
}

/** AES-256-GCM sealed content; see crypto.ts. */
export interface SealedColumns {
  key_id: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export interface MessageContentTable extends SealedColumns {
  message_id: string;
  stage: string;
  /** The destination that reported this stage; '' for the message's own (raw, transformed). */
  destination: string;
}

export interface MessageDestinationsTable {
  message_id: string;
  destination: string;
  status: string;
  attempts: number;
  error: string | null;
  updated_at: number;
}

export interface MessageEventsTable {
  id: Generated<number>;
  message_id: string;
  at: number;
  event: string;
  destination: string | null;
  detail: string | null;
}

/** Embedded queue: one row per (message, destination) waiting for delivery. */
export interface QueueItemsTable extends SealedColumns {
  seq: Generated<number>;
  destination: string;
  message_id: string;
  channel: string;
  routing_key: string;
  partition_key: string;
  /** 1 for the earliest remaining item of its (destination, partition_key): the only one handed out. */
  head: number;
  attempt: number;
  available_at: number;
  enqueued_at: number;
}

export interface DeadLettersTable extends SealedColumns {
  seq: Generated<number>;
  destination: string;
  message_id: string;
  channel: string;
  routing_key: string;
  partition_key: string;
  attempts: number;
  reason: string;
  dead_lettered_at: number;
}

export interface StoreDatabase {
  messages: MessagesTable;
  message_content: MessageContentTable;
  message_destinations: MessageDestinationsTable;
  message_events: MessageEventsTable;
  queue_items: QueueItemsTable;
  dead_letters: DeadLettersTable;
}
