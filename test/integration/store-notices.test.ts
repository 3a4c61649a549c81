// The notice store (adapters/store/notice-store.ts) on SQLite and PostgreSQL: a notice is added
// once, listed by state (overdue computed at read), type, channel and episode; an answer is
// recorded only from the states asked for (one decision wins); a withdrawal changes only awaiting
// notices; the answer's free text is sealed at rest; pages after a cursor.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import { SqlNoticeStore } from '../../adapters/store/notice-store.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import type { NewNotice } from '../../core/notices.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

const keys = parseContentKeys(`k1:${Buffer.alloc(32, 7).toString('base64')}`);
const T0 = new Date('2026-12-01T10:00:00Z');
const hours = (h: number) => new Date(T0.getTime() + h * 3_600_000);

function notice(id: string, o: Partial<NewNotice> = {}): NewNotice {
  return { id, messageId: `m-${id}`, channel: 'notices', type: 'assessment', event: '975701000000106', format: 'xml', transport: 'mesh', replyTo: 'RZZ9AHUB01', hospitalOds: 'RZZ9A', councilOds: 'Z99ZZ', episode: 'ep-1', ward: 'Heron Ward', receivedAt: T0, dueAt: hours(48), state: 'awaiting', ...o };
}

describe.each(BACKENDS)('notice store on %s', (name) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let store: SqlNoticeStore;

  beforeAll(async () => {
    backend = createBackend(name);
    db = await backend.openMigrated();
    store = new SqlNoticeStore(db, keys);
  });

  afterAll(async () => {
    await db?.close();
    await backend?.cleanup();
  });

  test('added once; read back field by field; overdue computed at read', async () => {
    expect(await store.add(notice('n1'))).toBe(true);
    expect(await store.add(notice('n1', { ward: 'Other' }))).toBe(false);
    const got = await store.get('n1', hours(1));
    expect(got).toEqual({ ...notice('n1'), overdue: false, updatedAt: expect.any(Date) });
    expect((await store.get('n1', hours(49)))?.overdue).toBe(true);
    expect(await store.get('nope')).toBeUndefined();
  });

  test('list filters by state (and overdue), type, channel and episode, newest first', async () => {
    await store.add(notice('n2', { type: 'discharge', receivedAt: hours(1), dueAt: hours(25), episode: 'ep-2' }));
    await store.add(notice('n3', { type: 'admission', receivedAt: hours(2), dueAt: undefined, state: 'answered', channel: 'other' }));
    const ids = async (f: Parameters<SqlNoticeStore['list']>[0], now = hours(3)) => (await store.list(f, now)).map((n) => n.id);
    expect(await ids({})).toEqual(['n3', 'n2', 'n1']);
    expect(await ids({ state: 'awaiting' })).toEqual(['n2', 'n1']);
    expect(await ids({ state: 'overdue' }, hours(30))).toEqual(['n2']);
    expect(await ids({ state: 'overdue' }, hours(50))).toEqual(['n2', 'n1']);
    expect(await ids({ type: 'discharge' })).toEqual(['n2']);
    expect(await ids({ channel: 'other' })).toEqual(['n3']);
    expect(await ids({ episode: 'ep-1', channel: 'notices' })).toEqual(['n1']);
    expect(await ids({ limit: 1 })).toEqual(['n3']);
    // Counted in SQL (the dashboard, the alert rule and the gauge): awaiting, and of them overdue.
    expect(await store.countAwaiting({}, hours(3))).toEqual({ awaiting: 2, overdue: 0 });
    expect(await store.countAwaiting({}, hours(30))).toEqual({ awaiting: 2, overdue: 1 });
    expect(await store.countAwaiting({}, hours(50))).toEqual({ awaiting: 2, overdue: 2 });
    expect(await store.countAwaiting({ type: 'discharge' }, hours(50))).toEqual({ awaiting: 1, overdue: 1 });
    expect(await store.countAwaiting({ channel: 'other' }, hours(50))).toEqual({ awaiting: 0, overdue: 0 });
    // Paging: the page after a notice, newest first; a tie on the time is broken by id.
    await store.add(notice('n2b', { receivedAt: hours(1), episode: 'ep-3' }));
    expect(await ids({ after: { receivedAt: hours(2), id: 'n3' } })).toEqual(['n2b', 'n2', 'n1']);
    expect(await ids({ after: { receivedAt: hours(1), id: 'n2b' } })).toEqual(['n2', 'n1']);
    expect(await ids({ after: { receivedAt: hours(1), id: 'n2' }, limit: 1 })).toEqual(['n1']);
    expect(await ids({ after: { receivedAt: T0, id: 'n1' } })).toEqual([]);
  });

  test('an answer is recorded once; the free text is sealed at rest', async () => {
    const at = hours(5);
    const answer = { answer: 'accept' as const, event: '975711000000108', reasonCode: 'OFT', reasonText: 'Allocated to Ms Example', by: 'user alex', at };
    expect(await store.answer('n1', 'accepted', answer, 'resp-1')).toBe(true);
    expect(await store.answer('n1', 'rejected', { ...answer, answer: 'reject' }, 'resp-2')).toBe(false);
    expect(await store.get('n1', hours(100))).toMatchObject({ state: 'accepted', overdue: false, answer, responseMessageId: 'resp-1' });
    const raw = await sql<{ answer_text_sealed: string }>`select answer_text_sealed from notices where id = 'n1'`.execute(db.kysely);
    expect(raw.rows[0].answer_text_sealed).not.toContain('Example');
  });

  test('withdraw changes awaiting notices only and names the withdrawal', async () => {
    expect(await store.withdraw(['n1', 'n2', 'missing'], 'w1')).toEqual(['n2']);
    expect(await store.get('n2')).toMatchObject({ state: 'withdrawn', withdrawnBy: 'w1' });
    expect((await store.get('n1'))?.state).toBe('accepted');
    expect(await store.withdraw([], 'w1')).toEqual([]);
  });
});
