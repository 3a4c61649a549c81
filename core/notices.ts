// The notice store's contract: one row per hospital-to-social-care notice (ADW) a channel took,
// its state and the council's answer. The person's details are not here: they stay in the
// notice's stored (sealed) message, read when someone views the notice. Implemented by
// adapters/store/notice-store.ts on SQLite and PostgreSQL.

export const NOTICE_STATES = ['awaiting', 'accepted', 'rejected', 'withdrawn', 'answered'] as const;
/**
 * awaiting: needs the council's answer; accepted / rejected: answered (here or by a response
 * that arrived); withdrawn: the hospital withdrew it before it was answered; answered: closed
 * without a decision of ours (an admission notice, which is not answered).
 */
export type NoticeState = (typeof NOTICE_STATES)[number];

/** What the API and console filter on: a stored state, or `overdue` (awaiting and past due). */
export type NoticeStateFilter = NoticeState | 'overdue';

export type NoticeKind = 'assessment' | 'discharge' | 'withdrawal' | 'admission';
export type NoticeWithdraws = 'all' | 'assessment-only' | 'discharge-only';

export interface NoticeAnswer {
  answer: 'accept' | 'reject';
  /** The response's SNOMED CT event code. */
  event: string;
  reasonCode: string;
  /** Free text (with reason OFT). Sealed at rest: it may name the person. */
  reasonText?: string;
  /** `user <id>`, `rule <name>`, or `response <message id>` for one that arrived. */
  by: string;
  at: Date;
}

export interface NewNotice {
  /** MessageHeader.id of the notice. */
  id: string;
  /** The stored message it came in. */
  messageId: string;
  channel: string;
  type: NoticeKind;
  withdraws?: NoticeWithdraws;
  /** MessageHeader.event code. */
  event: string;
  format: 'xml' | 'json';
  /** How it came: MESH mailbox folder or HTTP. */
  transport: 'mesh' | 'http';
  /** Where answers go back to: the sender's MESH mailbox (none for HTTP). */
  replyTo?: string;
  hospitalOds?: string;
  councilOds?: string;
  /** The episode identifier (ReferralRequest.identifier value) shared by the notices about one stay. */
  episode?: string;
  ward?: string;
  receivedAt: Date;
  /** When the council's answer is due; none for notices that are not answered. */
  dueAt?: Date;
  state: NoticeState;
}

export interface NoticeRecord extends NewNotice {
  /** Computed at read: awaiting and past due. */
  overdue: boolean;
  answer?: NoticeAnswer;
  /** The stored message of our response. */
  responseMessageId?: string;
  /** The withdrawal notice that withdrew this one. */
  withdrawnBy?: string;
  updatedAt: Date;
}

export interface NoticeFilter {
  state?: NoticeStateFilter;
  type?: NoticeKind;
  channel?: string;
  episode?: string;
  /** The notice whose answer is this stored response (its message id). */
  responseMessageId?: string;
  /** The page after this notice (newest first): the last one of the page before. */
  after?: { receivedAt: Date; id: string };
  limit?: number;
}

export interface AwaitingCounts {
  awaiting: number;
  /** Of those awaiting, the ones past their due time. */
  overdue: number;
}

export interface NoticeStore {
  /** Adds a notice; false (nothing changed) when a notice with that id is already stored. */
  add(notice: NewNotice): Promise<boolean>;
  get(id: string, now?: Date): Promise<NoticeRecord | undefined>;
  /** Newest first (default limit 100). */
  list(filter?: NoticeFilter, now?: Date): Promise<NoticeRecord[]>;
  /** Notices awaiting an answer, and how many of them are overdue at `now`: counted, not listed. */
  countAwaiting(filter?: Pick<NoticeFilter, 'channel' | 'type'>, now?: Date): Promise<AwaitingCounts>;
  /**
   * Records the answer when the notice is still in one of `from` (default awaiting): false when
   * it is not (answered or withdrawn meanwhile), so two deciders cannot both answer.
   */
  answer(id: string, state: 'accepted' | 'rejected', answer: NoticeAnswer, responseMessageId?: string, from?: readonly NoticeState[]): Promise<boolean>;
  /** Marks awaiting notices withdrawn by the withdrawal `by`; returns the ids changed. */
  withdraw(ids: readonly string[], by: string): Promise<string[]>;
}

/** Overdue: awaiting, due, and past due at `now`. */
export function isOverdue(n: Pick<NewNotice, 'state' | 'dueAt'>, now: Date): boolean {
  return n.state === 'awaiting' && n.dueAt !== undefined && n.dueAt.getTime() < now.getTime();
}
