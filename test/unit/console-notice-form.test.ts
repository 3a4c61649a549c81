// The notices pages' forms: the list's filters (a wrong one is a field error, never a 400) with
// its paging cursor, and the Accept / Reject form's rules (a reason the channel allows for that
// answer; OFT needs the text); how long past due reads; the type label; the form only for
// roles with notices:decide (no built-in role reads notices without deciding them).
import { expect, test } from '@jest/globals';
import { createViews } from '../../server/console/render.js';
import { noticeCursor, noticeTypeLabel, overdueBy, parseDecision, parseNoticeList } from '../../server/console/notice-form.js';

const REASONS = { accept: [{ code: 'OFT' }, { code: 'ASSESS' }], reject: [{ code: 'OFT' }, { code: 'NOTOURS' }] };
const reasonsFor = (a: 'accept' | 'reject') => REASONS[a];

test('list filters: known state, type and channel become the store filter; others are field errors', () => {
  const ok = parseNoticeList({ state: 'overdue', type: 'discharge', channel: 'hospital-notices', after: `${Date.UTC(2026, 0, 5)}.n-9` }, ['hospital-notices']);
  expect(ok.errors).toEqual([]);
  expect(ok.filter).toEqual({ state: 'overdue', type: 'discharge', channel: 'hospital-notices', after: { receivedAt: new Date(Date.UTC(2026, 0, 5)), id: 'n-9' }, limit: 51 });
  const bad = parseNoticeList({ state: 'lost', type: 'letter', channel: 'other' }, ['hospital-notices']);
  expect(bad.errors.map((e) => e.field)).toEqual(['state', 'type', 'channel']);
  expect(parseNoticeList({ after: 'x; drop table' }, []).filter).toEqual({ limit: 51 });
  expect(noticeCursor({ receivedAt: new Date(5), id: 'n-1' })).toBe('5.n-1');
});

test('the decision form: answer, a reason allowed for it, and text with OFT', () => {
  expect(parseDecision({ answer: 'accept', reasonCode: 'ASSESS' }, reasonsFor)).toEqual({ form: { answer: 'accept', reasonCode: 'ASSESS', text: '' }, errors: [], decision: { answer: 'accept', reasonCode: 'ASSESS' } });
  expect(parseDecision({ answer: 'reject', reasonCode: 'OFT', text: '  Not known to us  ' }, reasonsFor).decision).toEqual({ answer: 'reject', reasonCode: 'OFT', text: 'Not known to us' });
  expect(parseDecision({ answer: 'reject', reasonCode: 'OFT', text: ' ' }, reasonsFor).errors).toEqual([{ field: 'text', text: 'Enter the reason: "Other - Free Text" needs it' }]);
  expect(parseDecision({ answer: 'reject', reasonCode: 'ASSESS' }, reasonsFor).errors).toEqual([{ field: 'reasonCode', text: 'Select a reason that applies when you reject the notice' }]);
  expect(parseDecision({}, reasonsFor).errors.map((e) => e.field)).toEqual(['answer', 'reasonCode']);
  expect(parseDecision({ answer: 'accept', reasonCode: 'OFT', text: 'x'.repeat(1001) }, reasonsFor).errors.map((e) => e.field)).toEqual(['text']);
});

test('overdue by: minutes and hours, then days and hours', () => {
  const due = new Date('2026-01-05T10:00:00Z');
  expect(overdueBy(due, new Date('2026-01-05T10:00:30Z'))).toBe('under a minute');
  expect(overdueBy(due, new Date('2026-01-05T11:01:00Z'))).toBe('1 hour 1 minute');
  expect(overdueBy(due, new Date('2026-01-05T10:45:00Z'))).toBe('45 minutes');
  expect(overdueBy(due, new Date('2026-01-07T13:20:00Z'))).toBe('2 days 3 hours');
});

test('type labels say which withdrawal', () => {
  expect(noticeTypeLabel({ type: 'assessment' })).toBe('Assessment');
  expect(noticeTypeLabel({ type: 'withdrawal', withdraws: 'all' })).toBe('Withdrawal (all notices)');
  expect(noticeTypeLabel({ type: 'withdrawal', withdraws: 'discharge-only' })).toBe('Withdrawal (discharge only)');
});

test('the notice page offers the Accept / Reject form only to a role with notices:decide', () => {
  const views = createViews();
  const receivedAt = new Date('2026-01-05T10:00:00Z');
  const data = (can: (p: string) => boolean) => ({
    can,
    csrfToken: 't',
    navigation: [],
    n: { id: 'n-1', type: 'Assessment', hospital: 'RZZ9A', state: 'awaiting', stateColour: 'blue', receivedAt, answerable: true },
    notice: { messageId: 'm-1', transport: 'mesh', format: 'xml', councilOds: 'Z99ZZ' },
    labels: { accept: 'Accept the assessment notice', reject: 'Reject the assessment notice' },
    reasonItems: [{ value: 'OFT', text: 'Other - Free Text (OFT)' }],
    form: {},
    errors: [],
    errorFor: {},
    episode: [],
    history: [],
  });
  const deciding = views.render('notice.njk', data(() => true));
  expect(deciding).toContain('action="/notices/n-1/check"');
  expect(deciding).toContain('name="_csrf" value="t"');
  const reading = views.render('notice.njk', data((p) => p !== 'notices:decide'));
  expect(reading).not.toContain('data-decide');
  expect(reading).not.toContain('/notices/n-1/check');
  expect(reading).toContain('Your role cannot answer notices (it needs notices:decide).');
});
