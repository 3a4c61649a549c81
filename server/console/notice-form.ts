// The notices pages' forms, read leniently (a wrong field comes back to the page as a GOV.UK
// error message, never a bare 400): the list's filters and the Accept / Reject form. Pure, so
// the rules are unit-tested on their own.
import { NOTICE_STATES, type NoticeFilter, type NoticeKind, type NoticeRecord } from '../../core/notices.js';
import type { FieldError } from './action-forms.js';

export const NOTICE_PAGE_SIZE = 50;
export const NOTICE_STATE_FILTERS = [...NOTICE_STATES.slice(0, 1), 'overdue', ...NOTICE_STATES.slice(1)] as const;
export const NOTICE_KINDS: readonly NoticeKind[] = ['assessment', 'discharge', 'withdrawal', 'admission'];
/** Longest free text an answer may carry (it goes to the hospital as the reason's text). */
export const MAX_REASON_TEXT = 1000;

const text = (v: unknown, max = 200) => (typeof v === 'string' ? v.trim().slice(0, max) : '');

export interface NoticeListForm {
  state: string;
  type: string;
  channel: string;
}

export interface ParsedNoticeList {
  form: NoticeListForm;
  filter: NoticeFilter;
  errors: FieldError<keyof NoticeListForm>[];
}

/** The cursor of the next page: `<receivedAt ms>.<id>` of the last notice shown. */
export function noticeCursor(n: Pick<NoticeRecord, 'receivedAt' | 'id'>): string {
  return `${n.receivedAt.getTime()}.${n.id}`;
}

function parseCursor(value: string): NoticeFilter['after'] {
  const match = /^(\d{1,15})\.([A-Za-z0-9._:-]{1,100})$/.exec(value);
  return match ? { receivedAt: new Date(Number(match[1])), id: match[2] } : undefined;
}

export function parseNoticeList(query: Record<string, unknown>, channels: readonly string[]): ParsedNoticeList {
  const form: NoticeListForm = { state: text(query.state), type: text(query.type), channel: text(query.channel) };
  const errors: ParsedNoticeList['errors'] = [];
  if (form.state && !(NOTICE_STATE_FILTERS as readonly string[]).includes(form.state)) errors.push({ field: 'state', text: 'Choose a state from the list' });
  if (form.type && !(NOTICE_KINDS as readonly string[]).includes(form.type)) errors.push({ field: 'type', text: 'Choose a notice type from the list' });
  if (form.channel && !channels.includes(form.channel)) errors.push({ field: 'channel', text: 'Choose a channel that takes notices' });
  const after = parseCursor(text(query.after, 200));
  const filter: NoticeFilter = {
    ...(form.state ? { state: form.state as NoticeFilter['state'] } : {}),
    ...(form.type ? { type: form.type as NoticeKind } : {}),
    ...(form.channel ? { channel: form.channel } : {}),
    ...(after ? { after } : {}),
    limit: NOTICE_PAGE_SIZE + 1,
  };
  return { form, filter, errors };
}

export interface DecisionForm {
  answer: string;
  reasonCode: string;
  text: string;
}

export interface ParsedDecision {
  form: DecisionForm;
  decision?: { answer: 'accept' | 'reject'; reasonCode: string; text?: string };
  errors: FieldError<keyof DecisionForm>[];
}

/**
 * The Accept / Reject form: an answer, one of the reason codes the channel allows for it
 * (`reasonsFor`), and the free text OFT ("Other - Free Text") needs.
 */
export function parseDecision(fields: Record<string, unknown>, reasonsFor: (answer: 'accept' | 'reject') => readonly { code: string }[]): ParsedDecision {
  const form: DecisionForm = { answer: text(fields.answer, 10), reasonCode: text(fields.reasonCode, 50), text: typeof fields.text === 'string' ? fields.text.trim() : '' };
  const errors: ParsedDecision['errors'] = [];
  const answer = form.answer === 'accept' || form.answer === 'reject' ? form.answer : undefined;
  if (!answer) errors.push({ field: 'answer', text: 'Select whether you accept or reject the notice' });
  if (!form.reasonCode) errors.push({ field: 'reasonCode', text: 'Select the reason' });
  else if (answer && !reasonsFor(answer).some((r) => r.code === form.reasonCode)) errors.push({ field: 'reasonCode', text: `Select a reason that applies when you ${answer} the notice` });
  if (form.reasonCode === 'OFT' && !form.text) errors.push({ field: 'text', text: 'Enter the reason: "Other - Free Text" needs it' });
  if (form.text.length > MAX_REASON_TEXT) errors.push({ field: 'text', text: `The reason must be ${MAX_REASON_TEXT} characters or fewer` });
  if (errors.length || !answer) return { form, errors };
  return { form, errors, decision: { answer, reasonCode: form.reasonCode, ...(form.text ? { text: form.text } : {}) } };
}

/** "2 hours 5 minutes", "3 days 4 hours", "under a minute": how long past due. */
export function overdueBy(dueAt: Date, now: Date): string {
  const minutes = Math.floor((now.getTime() - dueAt.getTime()) / 60_000);
  if (minutes < 1) return 'under a minute';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const unit = (n: number, word: string) => (n ? `${n} ${word}${n === 1 ? '' : 's'}` : '');
  return (days ? [unit(days, 'day'), unit(hours, 'hour')] : [unit(hours, 'hour'), unit(mins, 'minute')]).filter(Boolean).join(' ');
}

/** "Assessment", "Withdrawal (all notices)", "Withdrawal (assessment only)". */
export function noticeTypeLabel(n: Pick<NoticeRecord, 'type' | 'withdraws'>): string {
  const base = n.type.charAt(0).toUpperCase() + n.type.slice(1);
  if (n.type !== 'withdrawal') return base;
  return n.withdraws === 'all' ? 'Withdrawal (all notices)' : n.withdraws ? `Withdrawal (${n.withdraws.replace('-', ' ')})` : base;
}

const STATE_TAG: Record<string, string> = { awaiting: 'blue', accepted: 'green', rejected: 'orange', withdrawn: 'grey', answered: 'grey' };
export const noticeStateColour = (state: string) => STATE_TAG[state] ?? 'grey';
