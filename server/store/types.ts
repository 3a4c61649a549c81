// The message store: one interface, SQLite (embedded default) or PostgreSQL underneath.
// Content is encrypted at rest; metadata stays searchable.

export const MESSAGE_STATUSES = ['received', 'rejected', 'duplicate', 'filtered', 'transformed', 'queued', 'sent', 'errored'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const DESTINATION_STATUSES = ['queued', 'filtered', 'retrying', 'sent', 'errored', 'dead-lettered'] as const;
export type DestinationStatus = (typeof DESTINATION_STATUSES)[number];

export type ContentStage = 'raw' | 'transformed' | 'response';

export interface NewMessage {
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
}
