import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Kysely, Transaction } from 'kysely';
import type { Db } from '../../adapters/store/db.js';
import { GroupCommitter, ItemFailure } from '../../adapters/store/group-commit.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

describe.each(BACKENDS)('GroupCommitter on %s', (backendName) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let observer: Db<StoreDatabase>;

  beforeAll(async () => {
    backend = createBackend(backendName);
    db = await backend.openMigrated();
    observer = await backend.open();
  });

  afterAll(async () => {
    await observer?.close();
    await db?.close();
    await backend?.cleanup();
  });

  const insertMessage = (trx: Transaction<StoreDatabase>, id: string) =>
    trx
      .insertInto('messages')
      .values({ id, channel: 'gc', received_at: 0, sender: '', control_id: null, message_type: null, patient_key: null, status: 'received', error: null, updated_at: 0 })
      .execute();

  test('writes submitted together share one transaction and resolve in order after commit', async () => {
    const committer = new GroupCommitter(db.kysely, { maxBatch: 500 });
    const transactions = new Set<unknown>();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        committer.run(async (trx) => {
          transactions.add(trx);
          await insertMessage(trx, `gc-${i}`);
          return i;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(transactions.size).toBe(1);
    // Visible to another connection as soon as the promises resolved: committed, not pending.
    const seen = await observer.kysely.selectFrom('messages').select('id').where('channel', '=', 'gc').execute();
    expect(seen).toHaveLength(100);
  });

  test('maxBatch bounds the writes per transaction', async () => {
    const committer = new GroupCommitter(db.kysely, { maxBatch: 10 });
    const transactions = new Set<unknown>();
    await Promise.all(Array.from({ length: 35 }, () => committer.run(async (trx) => void transactions.add(trx))));
    expect(transactions.size).toBe(4);
    await committer.drain();
  });

  test('bulk writes get one call per kind with all their items', async () => {
    const committer = new GroupCommitter(db.kysely);
    const calls: number[][] = [];
    const double = { name: 'double', apply: async (_trx: unknown, items: number[]) => (calls.push(items), items.map((n) => n * 2)) };
    const results = await Promise.all([1, 2, 3].map((n) => committer.submit(double, n)));
    expect(results).toEqual([2, 4, 6]);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  test('a batch of one kind with a single-statement form runs it without a transaction; mixed batches get one', async () => {
    const committer = new GroupCommitter(db.kysely);
    const seen: string[] = [];
    const kind = (name: string) => ({
      name,
      apply: async (trx: Transaction<StoreDatabase>, items: number[]) => (seen.push(`${name}: transaction ${trx.isTransaction}`), items),
      applyAlone: (kysely: Kysely<StoreDatabase>, items: number[]) => Promise.resolve((seen.push(`${name}: alone ${kysely.isTransaction}`), items)),
    });
    const [a, b] = [kind('a'), kind('b')];
    expect(await Promise.all([1, 2].map((n) => committer.submit(a, n)))).toEqual([1, 2]);
    expect(seen).toEqual(['a: alone false']);
    seen.length = 0;
    expect(await Promise.all([committer.submit(a, 1), committer.submit(b, 2)])).toEqual([1, 2]);
    expect(seen).toEqual(['a: transaction true', 'b: transaction true']);
  });

  test('an ItemFailure fails that item alone', async () => {
    const committer = new GroupCommitter(db.kysely);
    const oddFails = { name: 'odd', apply: async (_trx: unknown, items: number[]) => items.map((n) => (n % 2 ? new ItemFailure(new Error(`odd ${n}`)) : n)) };
    const results = await Promise.allSettled([1, 2, 3].map((n) => committer.submit(oddFails, n)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['odd 1', 2, 'odd 3']);
  });

  /** A committer and a bulk write that notes each batch it is applied to. */
  const recording = () => {
    const calls: number[][] = [];
    return { committer: new GroupCommitter(db.kysely), calls, record: { name: 'record', apply: async (_trx: unknown, items: number[]) => (calls.push(items), items) } };
  };

  test('lingering writes wait for their timer and then share one batch; drain does not wait for the timer', async () => {
    const { committer, calls, record } = recording();
    const first = committer.submit(record, 1, { lingerMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = committer.submit(record, 2, { lingerMs: 60_000 });
    expect(calls).toEqual([]);
    await committer.drain();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(calls).toEqual([[1, 2]]);
    const late = committer.submit(record, 3, { lingerMs: 30 });
    expect(await late).toBe(3);
    expect(calls).toEqual([[1, 2], [3]]);
  });

  test('lingering writes ride along with the next batch someone waits for, without waiting for their timer', async () => {
    // The timer is a minute: the test's own timeout fails it if the ride-along does not happen.
    const { committer, calls, record } = recording();
    const lingering = committer.submit(record, 1, { lingerMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await Promise.all([committer.submit(record, 2), lingering])).toEqual([2, 1]);
    expect(calls).toEqual([[1, 2]]);
  });

  test('a kind marked last is applied after the others of its transaction, whatever the order of arrival', async () => {
    const committer = new GroupCommitter(db.kysely);
    const order: string[] = [];
    const kind = (name: string, last = false) => ({ name, last, apply: async (_trx: unknown, items: number[]) => (order.push(name), items) });
    const [after, before] = [kind('after', true), kind('before')];
    await Promise.all([committer.submit(after, 1), committer.submit(before, 2)]);
    expect(order).toEqual(['before', 'after']);
  });

  test('hurry commits the lingering writes now', async () => {
    const committer = new GroupCommitter(db.kysely);
    const record = { name: 'record', apply: async (_trx: unknown, items: number[]) => items };
    const lingering = committer.submit(record, 7, { lingerMs: 60_000 });
    committer.hurry();
    expect(await lingering).toBe(7);
  });
});
