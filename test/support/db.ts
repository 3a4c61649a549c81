// Unique PostgreSQL schemas per test run, so runs never collide; the test fails (not skips)
// when PostgreSQL is unreachable.
import { randomBytes } from 'node:crypto';
import { dropPostgresSchema, openDatabase } from '../../adapters/store/db.js';
import { eventually } from './engine.js';

export const PG_BASE = process.env.TRAMLINE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export function uniquePgUrl(label: string): string {
  return `${PG_BASE}?schema=t_${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function dropPg(url: string): Promise<void> {
  if (url.startsWith('postgres')) await dropPostgresSchema(url);
}

/** Rows of the case inbox table, read as the case system would. */
export async function inboxRows(url: string, table = 'case_inbox'): Promise<Record<string, unknown>[]> {
  const db = await openDatabase<Record<string, Record<string, unknown>>>(url);
  try {
    return (await db.kysely.selectFrom(table).selectAll().orderBy('delivered_at').execute()) as Record<string, unknown>[];
  } catch (err) {
    if (/no such table|does not exist/.test((err as Error).message)) return [];
    throw err;
  } finally {
    await db.close();
  }
}

/** The inbox rows once there are at least `count` of them (fails after `timeoutMs`). */
export function inboxRowsAtLeast(url: string, count: number, timeoutMs = 120_000): Promise<Record<string, unknown>[]> {
  return eventually(
    async () => {
      const rows = await inboxRows(url);
      return rows.length >= count ? rows : undefined;
    },
    timeoutMs,
    `${count} inbox rows`,
  );
}
