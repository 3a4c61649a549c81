// The sandbox FHIR store's write rate: mapped ADT transaction Bundles (the shipped ADT mapping
// over the shipped cases, each as distinct patients — conditional upserts of Patient,
// Encounter, Locations, Practitioners, Organizations …) into the sandbox, on SQLite (the
// engine's settings: WAL, synchronous = FULL) and on PostgreSQL.
//
// Measured, each with 8 Bundles in flight (the FHIR destination's default concurrency):
//   - `sandbox`: FhirStore.transaction in this process (validation, lookups, writes, commit);
//   - `destination`: what the shipped channel's FHIR destination does per message — map the
//     HL7 (and validate), then FhirDestination posts the Bundle over HTTP to the sandbox's
//     router served in this process, which stores it.
// Yardstick, same run and database: `plain inserts` — the same number of transactions, each
// inserting as many rows as a Bundle writes on average (versions, current rows, index terms)
// into a table with no index, one commit each: what the database does for that much writing
// with nothing of FHIR in it.
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { sql, type Kysely } from 'kysely';
import { FhirDestination } from '../adapters/fhir/destination.js';
import { parseContentKeys } from '../adapters/store/crypto.js';
import { dropPostgresSchema, openDatabase, type Db } from '../adapters/store/db.js';
import { migrateToLatest } from '../adapters/store/migrations/index.js';
import { mapHl7ToBundle } from '../mappings/index.js';
import { createFhirRouter } from '../server/fhir/router.js';
import type { FhirDatabase } from '../server/fhir/schema.js';
import { FhirStore } from '../server/fhir/store.js';
import { benchAdtCases } from './adt-cases.js';
import { distinctPatients } from './adt-variants.js';

const PG_BASE = process.env.TRAMLINE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface FhirSandboxOptions {
  /** Messages per measured run (default 2,000). */
  messages?: number;
  /** Bundles in flight (default 8, the FHIR destination's default concurrency). */
  inFlight?: number;
  stores?: ('sqlite' | 'postgres')[];
}

interface Run {
  label: string;
  transactions: number;
  perSec: number;
  /** Transactions per second of this process's CPU time: steadier on a shared machine. */
  perCpuSec: number;
}

/** Run `step` over 0..n-1 with `inFlight` at a time. */
async function timed(label: string, n: number, inFlight: number, step: (i: number) => Promise<unknown>): Promise<Run> {
  let next = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await step(next++);
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { label, transactions: n, perSec: Math.round(n / seconds), perCpuSec: Math.round((n * 1e6) / (used.user + used.system)) };
}

async function rowCount(kysely: Kysely<FhirDatabase>): Promise<number> {
  let rows = 0;
  for (const table of ['fhir_versions', 'fhir_resources', 'fhir_index'] as const) {
    rows += Number((await kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  }
  return rows;
}

async function benchStore(kind: 'sqlite' | 'postgres', messages: string[], inFlight: number): Promise<object> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-bench-fhir-'));
  const schema = `bench_fhir_${crypto.randomBytes(4).toString('hex')}`;
  const url = kind === 'postgres' ? `${PG_BASE}?schema=${schema}` : `sqlite:${path.join(dir, 'fhir.db')}`;
  const db: Db = await openDatabase(url);
  const server = express();
  let listener: ReturnType<typeof server.listen> | undefined;
  try {
    await migrateToLatest(db.kysely, db.schema);
    const kysely = db.kysely as unknown as Kysely<FhirDatabase>;
    const store = new FhirStore(db, parseContentKeys(crypto.randomBytes(32).toString('base64')));
    const half = Math.floor(messages.length / 2);
    const first = messages.slice(0, half);
    const second = messages.slice(half);

    // Warm-up (JIT, the database's caches): 200 Bundles of people not used below.
    const warm = distinctPatients(benchAdtCases().map((c) => c.text), 14).map((m) => mapHl7ToBundle(m).bundle);
    await timed('warm-up', warm.length, inFlight, (i) => store.transaction(warm[i]));

    const bundles = first.map((m) => JSON.stringify(mapHl7ToBundle(m).bundle));
    const rowsBefore = await rowCount(kysely);
    const sandbox = await timed('sandbox (FhirStore.transaction, in process)', bundles.length, inFlight, (i) => store.transaction(JSON.parse(bundles[i])));
    const rowsPerBundle = ((await rowCount(kysely)) - rowsBefore) / bundles.length;

    server.use('/fhir', createFhirRouter(store, { publicBase: () => 'http://127.0.0.1/fhir' }));
    listener = server.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => listener!.once('listening', () => resolve()));
    const destination = new FhirDestination({ url: `http://127.0.0.1:${(listener.address() as AddressInfo).port}/fhir` });
    await destination.open();
    const delivered = await timed('destination (map + validate + FhirDestination over HTTP + sandbox)', second.length, inFlight, (i) =>
      destination.deliver({ messageId: `bench-${i}`, channel: 'bench', routingKey: 'hl7v2.ADT', partitionKey: String(i), headers: {}, body: JSON.stringify(mapHl7ToBundle(second[i]).bundle) }),
    );
    await destination.close();

    await sql`create table bench_plain (k text not null, n integer not null, body text not null)`.execute(db.kysely);
    const rows = Math.max(1, Math.round(rowsPerBundle));
    const body = 'x'.repeat(200);
    const plain = await timed(`yardstick: plain inserts (${rows} rows, one commit, per transaction)`, bundles.length, inFlight, (i) =>
      db.kysely.transaction().execute(async (trx) => {
        const values = Array.from({ length: rows }, (_, n) => ({ k: `${i}`, n, body }));
        for (let at = 0; at < values.length; at += 500) await (trx as unknown as Kysely<{ bench_plain: { k: string; n: number; body: string } }>).insertInto('bench_plain').values(values.slice(at, at + 500)).execute();
      }),
    );
    return { store: kind, rowsPerBundle: Math.round(rowsPerBundle), sandbox, destination: delivered, yardstick: plain, sandboxToYardstick: Number((sandbox.perSec / plain.perSec).toFixed(2)) };
  } finally {
    await new Promise<void>((resolve) => (listener ? listener.close(() => resolve()) : resolve()));
    await db.close();
    if (kind === 'postgres') await dropPostgresSchema(url);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchFhirSandbox(options: FhirSandboxOptions = {}): Promise<object> {
  const count = options.messages ?? Number(process.env.BENCH_FHIR_MESSAGES ?? 2000);
  const inFlight = options.inFlight ?? 8;
  const stores = options.stores ?? ((process.env.BENCH_FHIR_STORES?.split(',') as ('sqlite' | 'postgres')[] | undefined) ?? ['sqlite', 'postgres']);
  const cases = benchAdtCases().map((c) => c.text);
  // Distinct people from the warm-up's (variants beyond its 14 per case).
  const messages = distinctPatients(cases, 14 + Math.ceil(count / cases.length)).slice(14 * cases.length, 14 * cases.length + count);
  const results = [];
  for (const kind of stores) {
    console.error(`bench: fhir-sandbox on ${kind}…`);
    results.push(await benchStore(kind, messages, inFlight));
  }
  return { messages: count, inFlight, loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))), results };
}
