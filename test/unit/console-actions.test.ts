// The console's action forms (dead-letter discard, new API token) and the redeploy summary.
import { expect, test } from '@jest/globals';
import { messageIdsOf, parseDiscardForm, parseTokenForm } from '../../server/console/action-forms.js';
import { describeRedeploy } from '../../server/console/pages/channel-control.js';

const DESTS = ['adt.case-api', 'adt.record'];

test('message ids: one or several, duplicates and implausible values dropped', () => {
  expect(messageIdsOf(undefined)).toEqual([]);
  expect(messageIdsOf('m1')).toEqual(['m1']);
  expect(messageIdsOf(['m1', 'm2', 'm1', '', 'a b', '<x>', 7])).toEqual(['m1', 'm2']);
  expect(messageIdsOf(Array.from({ length: 1500 }, (_, i) => `m${i}`))).toHaveLength(1000);
});

test('discard: a known destination, at least one message and (when sent) a reason', () => {
  expect(parseDiscardForm({ destination: 'adt.case-api', messageId: ['m1', 'm2'], reason: ' entered by hand ' }, DESTS, true)).toEqual({
    destination: 'adt.case-api',
    messageIds: ['m1', 'm2'],
    reason: 'entered by hand',
    errors: [],
  });
  expect(parseDiscardForm({ destination: 'adt.nowhere', messageId: 'm1' }, DESTS, false).errors.map((e) => e.field)).toEqual(['destination']);
  // The confirmation page asks for the reason; only the POST needs it.
  expect(parseDiscardForm({ destination: 'adt.case-api', messageId: 'm1' }, DESTS, false).errors).toEqual([]);
  expect(parseDiscardForm({ destination: 'adt.case-api', messageId: 'm1', reason: '  ' }, DESTS, true).errors).toEqual([{ field: 'reason', text: 'Enter why these dead letters are discarded' }]);
  expect(parseDiscardForm({ destination: 'adt.case-api', messageId: 'm1', reason: 'dup' }, DESTS, true).errors.map((e) => e.field)).toEqual(['reason']);
  expect(parseDiscardForm({ destination: 'adt.case-api', reason: 'entered by hand' }, DESTS, true).errors.map((e) => e.field)).toEqual(['messageIds']);
});

test('new token: name, one role, an optional expiry in whole days', () => {
  const now = Date.UTC(2026, 11, 7);
  expect(parseTokenForm({ name: 'case-system', role: 'sender', expiresInDays: '90' }, now)).toEqual({
    form: { name: 'case-system', role: 'sender', expiresInDays: '90' },
    errors: [],
    request: { name: 'case-system', roles: ['sender'], expiresAt: new Date(now + 90 * 86_400_000) },
  });
  expect(parseTokenForm({ name: 'ci', role: 'operator', expiresInDays: '' }, now).request).toEqual({ name: 'ci', roles: ['operator'] });
  const fields = (f: Record<string, unknown>) => parseTokenForm(f, now).errors.map((e) => e.field);
  expect(fields({})).toEqual(['name', 'role']);
  expect(fields({ name: '-leading', role: 'sender' })).toEqual(['name']);
  expect(fields({ name: 'has space', role: 'sender' })).toEqual(['name']);
  expect(fields({ name: 'ok', role: 'superuser' })).toEqual(['role']);
  for (const bad of ['0', '3651', '1.5', 'ten', '-3']) expect(fields({ name: 'ok', role: 'sender', expiresInDays: bad })).toEqual(['expiresInDays']);
  expect(parseTokenForm({ name: 'x', role: 'admin' }, now).request).toBeDefined();
  expect(parseTokenForm({ name: 'x', role: 'admin', expiresInDays: 'no' }, now).request).toBeUndefined();
});

test('a redeploy is summed up in one sentence', () => {
  expect(describeRedeploy({ added: ['a'], changed: ['b', 'c'], removed: [], unchanged: ['d'] })).toBe('Channels redeployed: started a; restarted b, c (changed).');
  expect(describeRedeploy({ added: [], changed: [], removed: ['x'], unchanged: [] })).toBe('Channels redeployed: stopped x (removed or disabled).');
  expect(describeRedeploy({ added: [], changed: [], removed: [], unchanged: ['a', 'b'] })).toBe('Nothing changed: the channel files match what is deployed (2 channels).');
});
