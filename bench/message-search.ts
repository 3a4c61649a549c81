// The console's message search on a large store: 1,000,000 messages (BENCH_MESSAGES for fewer)
// seeded into SQLite and into PostgreSQL (a schema of its own, dropped after), then the queries
// the search page runs — its own filter (parseSearch) through the store's own `list` — timed:
// by NHS number, by control id, by status and a week's date range, each first page and the page
// after. Yardstick, in the same run on the same store: a message by id (`get`, a primary-key
// lookup). Target: p95 of every search under 200 ms.
//
// The seed is what `list` reads: message rows (patient keys hashed and sealed as the store
// writes them) and their destination states. Content and history are left out: search never
// reads them.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { bulkInsert, type SqlValue } from '../adapters/store/bulk-sql.js';
import { parseContentKeys, type ContentKeyRing } from '../adapters/store/crypto.js';
import { dropPostgresSchema, openDatabase, type Db } from '../adapters/store/db.js';
import { DESTINATION_COLUMNS, MESSAGE_COLUMNS, SqlMessageStore } from '../adapters/store/message-store.js';
import { migrateToLatest } from '../adapters/store/migrations/index.js';
import { patientKeyColumns } from '../adapters/store/patient-key.js';
import type { StoreDatabase } from '../adapters/store/schema.js';
import type { DestinationStatus, MessageFilter, MessageStatus } from '../core/store.js';
import { nhsNumberCheckDigit } from '../mappings/functions/nhs-number.js';
import { cursorOf, parseSearch, PAGE_SIZE } from '../server/console/pages/message-search.js';

const PG_BASE = process.env.TRAMLINE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const DAY = 86_400_000;
const SPAN_MS = 182 * DAY;
const CHANNELS = 20;
const HL7_CHANNELS = 14;
const PATIENTS = 200_000;
/** A tenth of messages belong to these few people (frequent attenders): their searches have later pages. */
const FREQUENT = 1000;
/** Runs per query shape (each with other criteria), after WARMUP untimed ones. */
const RUNS = 30;
const WARMUP = 3;

/** Deterministic pseudo-random numbers (mulberry32): the same seed on both databases. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rnd: () => number, weighted: readonly (readonly [T, number])[]): T {
  let u = rnd();
  for (const [value, weight] of weighted) {
    if ((u -= weight) < 0) return value;
  }
  return weighted[weighted.length - 1][0];
}

/** `count` valid NHS numbers (Modulus 11), synthetic: from the 999 range no real person has. */
function nhsNumbers(count: number): string[] {
  const out: string[] = [];
  for (let base = 999_000_000; out.length < count; base++) {
    const nine = String(base);
    const check = nhsNumberCheckDigit(nine);
    if (check !== undefined) out.push(nine + check);
  }
  return out;
}

const channelId = (c: number) => `channel-${String(c + 1).padStart(2, '0')}`;
const isHl7 = (c: number) => c < HL7_CHANNELS;
const destinationsOf = (c: number) => (c % 3 === 0 ? ['lpres', 'case'] : ['lpres']).map((d) => `${channelId(c)}.${d}`);

const HL7_TYPES = [['ADT^A08', 0.4], ['ADT^A01', 0.15], ['ADT^A03', 0.15], ['ADT^A02', 0.1], ['ADT^A31', 0.1], ['ORU^R01', 0.1]] as const;
const RECORD_TYPES = [['record', 0.95], ['retraction', 0.05]] as const;
/** Stored statuses: queued ones report what their destinations say. */
const STORED = [['queued', 0.93], ['filtered', 0.03], ['errored', 0.02], ['rejected', 0.01], ['received', 0.01]] as const satisfies readonly (readonly [MessageStatus, number])[];
const DELIVERED = [['sent', 0.965], ['dead-lettered', 0.015], ['retrying', 0.005], ['queued', 0.005], ['filtered', 0.01]] as const satisfies readonly (readonly [DestinationStatus, number])[];

interface Seeded {
  seconds: number;
  /** For choosing queries: a few of what was stored. */
  ids: string[];
  controlIds: string[];
  start: number;
}

/** Insert `total` messages (and their destination rows) in chunks; the same data for the same total. */
async function seed(db: Db<StoreDatabase>, ring: ContentKeyRing, total: number, patients: string[]): Promise<Seeded> {
  const started = performance.now();
  const rnd = random(42);
  const start = Date.now() - SPAN_MS;
  const chunk = db.dialect === 'postgres' ? 10_000 : 2_000;
  const perTransaction = db.dialect === 'postgres' ? 1 : 25;
  const counters = new Array<number>(CHANNELS).fill(0);
  const sample: Seeded = { seconds: 0, ids: [], controlIds: [], start };
  let done = 0;
  while (done < total) {
    await db.kysely.transaction().execute(async (trx) => {
      for (let t = 0; t < perTransaction && done < total; t++) {
        const messages: SqlValue[][] = [];
        const destinations: SqlValue[][] = [];
        const n = Math.min(chunk, total - done);
        for (let i = 0; i < n; i++, done++) {
          const at = start + Math.floor((done / total) * SPAN_MS + rnd() * 60_000);
          const id = uuidv7({ msecs: at });
          const c = Math.floor(rnd() * CHANNELS);
          const person = rnd() < 0.1 ? Math.floor(rnd() * FREQUENT) : Math.floor(rnd() * PATIENTS);
          const patientKey = isHl7(c) ? `nhs:${patients[person]}` : `group:CLD-${person}`;
          const key = patientKeyColumns(ring, id, patientKey);
          const controlId = `MSG${String(++counters[c]).padStart(8, '0')}`;
          const status = pick(rnd, STORED);
          messages.push([id, channelId(c), at, `SENDER-${c % 7}`, controlId, pick(rnd, isHl7(c) ? HL7_TYPES : RECORD_TYPES), key.patient_key, key.patient_key_sealed, status, status === 'errored' ? 'mapping failed' : null, at]);
          if (status === 'queued') for (const d of destinationsOf(c)) destinations.push([id, d, pick(rnd, DELIVERED), 1, null, at + 500]);
          if (done % 997 === 0) {
            sample.ids.push(id);
            sample.controlIds.push(controlId);
          }
        }
        await trx.executeQuery(bulkInsert(db.dialect, 'messages', MESSAGE_COLUMNS, messages));
        for (let d = 0; d < destinations.length; d += chunk) await trx.executeQuery(bulkInsert(db.dialect, 'message_destinations', DESTINATION_COLUMNS, destinations.slice(d, d + chunk)));
      }
    });
    if (done % 100_000 < chunk * perTransaction) console.error(`  ${db.dialect}: ${done} messages`);
  }
  // PostgreSQL's autovacuum would vacuum and analyze tables grown this much within a minute or
  // two (and, left to it, would do so while the queries are timed): do it now, as a long-lived
  // store would have had it done.
  if (db.dialect === 'postgres') await sql`vacuum analyze messages, message_destinations`.execute(db.kysely);
  sample.seconds = (performance.now() - started) / 1000;
  return sample;
}

interface Timing {
  p50: number;
  p95: number;
  /** Rows on the page (median). */
  rows: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round = (ms: number) => Math.round(ms * 100) / 100;

/** Run `query` for each of `inputs` (WARMUP untimed first) and give its latency percentiles. */
async function time<I>(inputs: I[], query: (input: I) => Promise<unknown[] | unknown>): Promise<Timing> {
  for (const input of inputs.slice(0, WARMUP)) await query(input);
  const ms: number[] = [];
  const rows: number[] = [];
  for (const input of inputs.slice(WARMUP)) {
    const t0 = performance.now();
    const result = await query(input);
    ms.push(performance.now() - t0);
    rows.push(Array.isArray(result) ? result.length : result ? 1 : 0);
  }
  ms.sort((a, b) => a - b);
  rows.sort((a, b) => a - b);
  return { p50: round(percentile(ms, 50)), p95: round(percentile(ms, 95)), rows: rows[Math.floor(rows.length / 2)] };
}

async function measure(db: Db<StoreDatabase>, ring: ContentKeyRing, seeded: Seeded, patients: string[]): Promise<Record<string, Timing>> {
  const store = new SqlMessageStore(db, ring);
  const rnd = random(7);
  const channels = Array.from({ length: CHANNELS }, (_, c) => channelId(c));
  const n = RUNS + WARMUP;
  // The page's own filter from the page's own query string.
  const filterOf = (query: Record<string, string>): MessageFilter => {
    const parsed = parseSearch(query, channels);
    if (parsed.errors.length) throw new Error(`bench query refused by the page: ${JSON.stringify(parsed.errors)}`);
    return parsed.filter;
  };
  const list = (query: Record<string, string>) => store.list(filterOf(query));
  /** The page after the first, as the page's "next" link asks for it (the first page is not timed). */
  const secondPage = async (query: Record<string, string>) => {
    const first = await list(query);
    const last = first[Math.min(first.length, PAGE_SIZE) - 1];
    return { ...query, ...(last ? { after: cursorOf(last) } : {}) };
  };
  const someOf = <T>(items: T[]) => Array.from({ length: n }, () => items[Math.floor(rnd() * items.length)]);
  const isoMinute = (ms: number) => new Date(ms).toISOString().slice(0, 16);
  const week = () => {
    const from = seeded.start + Math.floor(rnd() * (SPAN_MS - 7 * DAY));
    return { from: isoMinute(from), to: isoMinute(from + 7 * DAY) };
  };

  const byNhs = someOf(patients.slice(0, PATIENTS)).map((nhsNumber) => ({ nhsNumber }));
  const byFrequentNhs = someOf(patients.slice(0, FREQUENT)).map((nhsNumber) => ({ nhsNumber }));
  const byControlId = someOf(seeded.controlIds).map((controlId) => ({ controlId }));
  const sentWeek = Array.from({ length: n }, () => ({ status: 'sent', ...week() }));
  const deadWeek = Array.from({ length: n }, () => ({ status: 'dead-lettered', ...week() }));
  const later = async (queries: Record<string, string>[]) => Promise.all(queries.map(secondPage));

  const result: Record<string, Timing> = {};
  const run = async (name: string, queries: Record<string, string>[]) => {
    console.error(`  ${db.dialect}: ${name}`);
    result[name] = await time(queries, list);
  };
  await run('nhsNumber', byNhs);
  await run('nhsNumber frequent attender, next page', await later(byFrequentNhs));
  await run('controlId', byControlId);
  await run('controlId, next page', await later(byControlId));
  await run('status sent + week', sentWeek);
  await run('status sent + week, next page', await later(sentWeek));
  await run('status dead-lettered + week', deadWeek);
  await run('status dead-lettered + week, next page', await later(deadWeek));
  console.error(`  ${db.dialect}: yardstick`);
  result['yardstick: get by id'] = await time(someOf(seeded.ids), (id) => store.get(id));
  await store.close();
  return result;
}

async function onBackend(name: 'sqlite' | 'postgres', total: number, ring: ContentKeyRing, patients: string[]): Promise<object> {
  const dir = name === 'sqlite' ? fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-bench-search-')) : undefined;
  const url = dir ? `sqlite:${path.join(dir, 'store.db')}` : `${PG_BASE}?schema=bench_search_${crypto.randomBytes(4).toString('hex')}`;
  const db = await openDatabase<StoreDatabase>(url);
  try {
    await migrateToLatest(db.kysely, db.schema);
    console.error(`bench: seeding ${total} messages into ${name}…`);
    const seeded = await seed(db, ring, total, patients);
    const queries = await measure(db, ring, seeded, patients);
    return { seedSeconds: Number(seeded.seconds.toFixed(1)), seedMessagesPerSecond: Math.round(total / seeded.seconds), queriesMs: queries };
  } finally {
    await db.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    else await dropPostgresSchema(url);
  }
}

export async function benchMessageSearch(options: { messages?: number } = {}): Promise<object> {
  const total = options.messages ?? Number(process.env.BENCH_MESSAGES ?? 1_000_000);
  if (!Number.isInteger(total) || total < 10_000) throw new Error(`BENCH_MESSAGES must be a whole number of at least 10000, got ${process.env.BENCH_MESSAGES}`);
  const ring = parseContentKeys(crypto.randomBytes(32).toString('base64'));
  const patients = nhsNumbers(PATIENTS);
  const sqlite = await onBackend('sqlite', total, ring, patients);
  const postgres = await onBackend('postgres', total, ring, patients);
  return {
    name: 'message-search',
    messages: total,
    channels: CHANNELS,
    patients: PATIENTS,
    days: SPAN_MS / DAY,
    pageSize: PAGE_SIZE,
    runsPerQuery: RUNS,
    targetMs: 200,
    sqlite,
    postgres,
  };
}
