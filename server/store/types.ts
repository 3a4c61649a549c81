// The message store: one interface, SQLite (embedded default) or PostgreSQL underneath.
// Content is encrypted at rest; metadata stays searchable.

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
