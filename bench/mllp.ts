// The mllp-* benchmarks: `tramline bench mllp`'s load generator against the shipped
// configuration — the example ADT channel (channels/examples/adt-to-case-system.yaml: case-inbox
// table, and ADT mapped to FHIR for the shared care record, here a stand-in server in a process
// of its own that answers at once) with default settings — on realistic ~950-byte
// vendor-style ADT, in two configurations: embedded (SQLite store, embedded queue) and
// PostgreSQL + RabbitMQ (own schemas and vhost, removed afterwards). Each prints, beside the
// engine's figures, ceilings measured in the same run on the same machine: an MLLP echo server
// (answers each message with an ACK at once, in a process of its own) under the same load, and
// the disk's fdatasync rate (what one synchronous connection's commits can at best reach) and,
// for PostgreSQL + RabbitMQ, one connection's commit rate and a quorum queue's confirm rate.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import amqp from 'amqplib';
import pg from 'pg';
import { buildAck } from '../adapters/hl7v2/ack.js';
import { decodeHl7Bytes } from '../adapters/hl7v2/charset.js';
import { parseHl7 } from '../adapters/hl7v2/parse.js';
import { MllpServer } from '../adapters/mllp/server.js';
import { dropPostgresSchema } from '../adapters/store/db.js';
import { runMllpLoad, type MllpLoadOptions, type MllpLoadResult } from '../server/bench/mllp-load.js';
import { readBackFromStore, type StoreReadback } from '../server/bench/store-readback.js';
import { freePort, rabbitmqctl, startEngine, type Engine } from './end-to-end.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const PG_BASE = process.env.TRAMLINE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const AMQP_HOST = process.env.TRAMLINE_BENCH_AMQP_HOST ?? 'guest:guest@127.0.0.1:5672';

export type MllpScenario = 'mllp-sync-1' | 'mllp-sync-16' | 'mllp-pipelined' | 'mllp-steady';
export type Configuration = 'embedded' | 'postgres-rabbitmq';
const CONFIGURATIONS: readonly Configuration[] = ['embedded', 'postgres-rabbitmq'];

const seconds = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** The load each scenario puts on the engine (and on the echo server). */
function loadOf(scenario: MllpScenario): Pick<MllpLoadOptions, 'connections' | 'inFlight' | 'rate' | 'durationS' | 'warmupS'> {
  const durationS = seconds('BENCH_MLLP_SECONDS', 20);
  const warmupS = seconds('BENCH_MLLP_WARMUP', 3);
  switch (scenario) {
    case 'mllp-sync-1':
      return { connections: 1, inFlight: 1, rate: 0, durationS, warmupS };
    case 'mllp-sync-16':
      return { connections: 16, inFlight: 1, rate: 0, durationS, warmupS };
    case 'mllp-pipelined':
      return { connections: 4, inFlight: 64, rate: 0, durationS, warmupS };
    case 'mllp-steady':
      return { connections: 4, inFlight: 64, rate: Number(process.env.BENCH_MLLP_RATE ?? 1000), durationS: seconds('BENCH_MLLP_STEADY_SECONDS', 60), warmupS };
  }
}

interface Started {
  /** The configuration's own commit rates, measured before the engine starts. */
  ceilings: Ceilings;
  engine: Engine;
  mllpPort: number;
  api: string;
  token: string;
  cleanup: () => Promise<void>;
}

export interface Ceilings {
  postgresCommitsPerSec?: number;
  rabbitConfirmsPerSec?: number;
}

/** Clean-ups run newest first; each failure is reported and the rest still run. */
export class Cleanups {
  private readonly steps: (() => Promise<void>)[] = [];
  add(...steps: (() => Promise<void>)[]): void {
    this.steps.push(...steps);
  }
  async run(): Promise<void> {
    for (const c of this.steps.splice(0).reverse()) await c().catch((e: unknown) => console.error(`clean-up: ${(e as Error).message}`));
  }
}

async function runCli(env: NodeJS.ProcessEnv, cwd: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/tramline.js'), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`tramline ${args[0]} failed (${code}): ${err}`);
  return out;
}

/**
 * The settings every engine of a configuration shares: none for embedded; for PostgreSQL +
 * RabbitMQ a store schema, a case-inbox schema and a vhost of their own (removed by `cleanups`),
 * with the commit and confirm rates measured on them before any engine starts.
 */
export async function prepareBackend(configuration: Configuration, cleanups: Cleanups): Promise<{ env: NodeJS.ProcessEnv; ceilings: Ceilings }> {
  if (configuration === 'embedded') return { env: {}, ceilings: {} };
  const id = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const storeUrl = `${PG_BASE}?schema=bench_mllp_store_${id}`;
  const inboxUrl = `${PG_BASE}?schema=bench_mllp_inbox_${id}`;
  const vhost = `tramline-bench-mllp-${id}`;
  cleanups.add(() => dropPostgresSchema(storeUrl), () => dropPostgresSchema(inboxUrl));
  await rabbitmqctl('add_vhost', vhost);
  cleanups.add(() => rabbitmqctl('delete_vhost', vhost));
  await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  const amqpUrl = `amqp://${AMQP_HOST}/${encodeURIComponent(vhost)}`;
  return {
    env: { TRAMLINE_DB_URL: storeUrl, TRAMLINE_CASE_DB_URL: inboxUrl, TRAMLINE_AMQP_URL: amqpUrl },
    ceilings: { postgresCommitsPerSec: await postgresCommitsPerSec(`bench_mllp_probe_${id}`), rabbitConfirmsPerSec: await rabbitConfirmsPerSec(amqpUrl) },
  };
}

/**
 * `tramline start` on the shipped example channels in a temp folder of its own (its data
 * folder, MLLP and HTTP ports), with `shared` (prepareBackend's settings) on top. Stopped and
 * its folder removed by `cleanups`.
 */
export async function startShippedEngine(shared: NodeJS.ProcessEnv, cleanups: Cleanups): Promise<{ engine: Engine; mllpPort: number; httpPort: number; env: NodeJS.ProcessEnv; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-bench-mllp-'));
  cleanups.add(async () => rmSync(dir, { recursive: true, force: true }));
  const mllpPort = await freePort();
  const httpPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: '',
    TRAMLINE_DATA_DIR: path.join(dir, 'data'),
    TRAMLINE_CHANNELS: path.join(ROOT, 'channels/examples'),
    TRAMLINE_MLLP_PORT: String(mllpPort),
    TRAMLINE_HTTP_PORT: String(httpPort),
    TRAMLINE_LOG_LEVEL: process.env.TRAMLINE_LOG_LEVEL ?? 'info',
  };
  for (const k of ['TRAMLINE_DB_URL', 'TRAMLINE_AMQP_URL', 'TRAMLINE_CASE_DB_URL', 'TRAMLINE_LPRES_URL']) delete env[k];
  Object.assign(env, shared);
  mkdirSync(path.join(dir, 'data'));
  const cpuProfDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
  const engine = await startEngine(env, dir, cpuProfDir);
  cleanups.add(async () => {
    if (engine.child.exitCode === null && engine.child.signalCode === null) {
      engine.child.kill('SIGTERM');
      const timer = setTimeout(() => engine.child.kill('SIGKILL'), 30_000);
      await engine.exited;
      clearTimeout(timer);
    }
  });
  return { engine, mllpPort, httpPort, env, dir };
}

/** An API token with role operator (enough for `messages:read`), made by the engine's own CLI. */
export async function operatorToken(env: NodeJS.ProcessEnv, dir: string): Promise<string> {
  const token = /^(tl_\S+)/m.exec(await runCli(env, dir, ['tokens', 'create', '--name', 'bench', '--role', 'operator']))?.[1];
  if (!token) throw new Error('tramline tokens create printed no token');
  return token;
}

/** `tramline start` on the shipped example channels, in a temp folder, with an operator token. */
async function startShipped(configuration: Configuration): Promise<Started> {
  const cleanups = new Cleanups();
  try {
    const backend = await prepareBackend(configuration, cleanups);
    backend.env.TRAMLINE_LPRES_URL = await startFhirStandIn(cleanups);
    const started = await startShippedEngine(backend.env, cleanups);
    const token = await operatorToken(started.env, started.dir);
    return { ceilings: backend.ceilings, engine: started.engine, mllpPort: started.mllpPort, api: `http://127.0.0.1:${started.httpPort}`, token, cleanup: () => cleanups.run() };
  } catch (err) {
    await cleanups.run();
    throw err;
  }
}

/** A helper server of this file (`--echo-server`, `--fhir-stand-in`) in a child process; its port. */
async function startHelper(mode: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [SELF, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim())));
    child.once('exit', (code) => reject(new Error(`echo server exited (${code})`)));
  });
  return { port, child };
}

/** An MLLP server that ACKs every message at once, in a child process (as the engine is). */
export const startEchoServer = () => startHelper('--echo-server');

/**
 * The shared care record's stand-in: answers every transaction Bundle with a transaction-response
 * (201 for each entry) at once. The real record is another organisation's server on other
 * hardware; the engine's own sandbox (whose storage the fhir-sandbox bench measures) would
 * otherwise set every figure here, on the cores the engine needs.
 */
export async function startFhirStandIn(cleanups: Cleanups): Promise<string> {
  const helper = await startHelper('--fhir-stand-in');
  cleanups.add(async () => void helper.child.kill('SIGTERM'));
  return `http://127.0.0.1:${helper.port}/fhir`;
}

async function runFhirStandIn(): Promise<void> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let entries = 0;
      try {
        entries = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { entry?: unknown[] }).entry?.length ?? 0;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const entry = Array.from({ length: entries }, () => ({ response: { status: '201 Created' } }));
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(JSON.stringify({ resourceType: 'Bundle', type: 'transaction-response', entry }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  console.log((server.address() as { port: number }).port);
}

async function runEchoServer(): Promise<void> {
  const server = new MllpServer({ host: '127.0.0.1', port: 0, onMessage: async (raw) => buildAck(parseHl7(decodeHl7Bytes(raw).text), { code: 'AA' }) });
  console.log(await server.start());
}

/** Synchronous 1 KB writes to a file on the engine's disk (the temp folder): commits/s at best. */
export function fdatasyncPerSec(dir: string, ms = 2000): number {
  const file = path.join(dir, 'fdatasync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1024, 1);
  let n = 0;
  const start = performance.now();
  try {
    while (performance.now() - start < ms) {
      writeSync(fd, block, 0, block.length, (n % 64) * 1024);
      fdatasyncSync(fd);
      n++;
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return Math.round((n * 1000) / (performance.now() - start));
}

/**
 * A table of its own (`probe`, in `schema`, dropped after) on one PostgreSQL connection;
 * `insert(n)` adds row n with 1 KB of text, a prepared statement and its own commit.
 */
export async function withPostgresProbe<T>(schema: string, use: (insert: (n: number) => Promise<unknown>) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_BASE });
  await client.connect();
  try {
    await client.query(`create schema "${schema}"`);
    await client.query(`create table "${schema}".probe (id bigint primary key, body text)`);
    const body = 'x'.repeat(1000);
    return await use((n) => client.query({ name: 'probe', text: `insert into "${schema}".probe values ($1, $2)`, values: [n, body] }));
  } finally {
    await client.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
    await client.end();
  }
}

/** Single-row insert commits per second on one PostgreSQL connection, in a schema of its own. */
export function postgresCommitsPerSec(schema: string, ms = 2000): Promise<number> {
  return withPostgresProbe(schema, async (insert) => {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) await insert(n++);
    return Math.round((n * 1000) / (performance.now() - start));
  });
}

/**
 * A quorum queue of its own (deleted after) on a confirm channel; `publish()` sends a persistent
 * 1 KB message and resolves when the broker confirms it.
 */
export async function withQuorumProbe<T>(amqpUrl: string, use: (publish: () => Promise<void>) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const queue = 'bench-confirm-probe';
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const body = Buffer.alloc(1024, 1);
    const result = await use(() => new Promise<void>((resolve, reject) => channel.sendToQueue(queue, body, { persistent: true }, (err) => (err ? reject(err) : resolve()))));
    await channel.deleteQueue(queue);
    await channel.close();
    return result;
  } finally {
    await connection.close();
  }
}

/** Persistent 1 KB publishes confirmed per second by a quorum queue (64 unconfirmed at most). */
export function rabbitConfirmsPerSec(amqpUrl: string, ms = 2000): Promise<number> {
  return withQuorumProbe(amqpUrl, async (publish) => {
    const pending = new Set<Promise<void>>();
    let confirmed = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      const p: Promise<void> = publish().then(() => {
        confirmed++;
        pending.delete(p);
      });
      pending.add(p);
      if (pending.size >= 64) await Promise.race(pending);
    }
    await Promise.all(pending);
    return Math.round(confirmed / ((performance.now() - start) / 1000));
  });
}

function summary(load: MllpLoadResult) {
  const { messages: _m, runTag: _t, settings: _s, ...rest } = load;
  return rest;
}

const ratio = (a: number, b: number) => (b > 0 ? Number((a / b).toPrecision(3)) : null);

async function measureConfiguration(scenario: MllpScenario, configuration: Configuration) {
  const load = loadOf(scenario);
  const started = await startShipped(configuration);
  try {
    console.error(`${scenario} (${configuration}): ${JSON.stringify(load)}`);
    const result = await runMllpLoad({ host: '127.0.0.1', port: started.mllpPort, size: 'realistic', timeoutMs: 120_000, ...load, progress: (l) => console.error(`  ${l}`) });
    let store: StoreReadback | undefined;
    if (result.sent) {
      console.error('  reading back from the store');
      store = await readBackFromStore({ api: started.api, token: started.token, runTag: result.runTag, messages: result.messages, drainTimeoutMs: seconds('BENCH_MLLP_DRAIN_SECONDS', 120) * 1000 });
    }
    return { configuration, ceilings: started.ceilings, engine: summary(result), store };
  } catch (err) {
    console.error(started.engine.tail());
    throw err;
  } finally {
    await started.cleanup();
  }
}

export async function benchMllpScenario(scenario: MllpScenario): Promise<object> {
  const load = loadOf(scenario);
  const wanted = (process.env.BENCH_MLLP_CONFIGS ?? CONFIGURATIONS.join(',')).split(',') as Configuration[];
  const bad = wanted.filter((c) => !CONFIGURATIONS.includes(c));
  if (bad.length) throw new Error(`BENCH_MLLP_CONFIGS: unknown ${bad.join(', ')} (use ${CONFIGURATIONS.join(', ')})`);

  // Ceilings first, on a quiet machine: the disk, then an engine that does nothing but ACK.
  const probeDir = mkdtempSync(path.join(os.tmpdir(), 'tramline-bench-disk-'));
  const fdatasync = fdatasyncPerSec(probeDir);
  rmSync(probeDir, { recursive: true, force: true });
  const echo = await startEchoServer();
  let echoResult: MllpLoadResult;
  try {
    console.error(`${scenario}: MLLP echo server`);
    echoResult = await runMllpLoad({ host: '127.0.0.1', port: echo.port, size: 'realistic', timeoutMs: 60_000, ...load, durationS: Math.min(load.durationS, 5), warmupS: 1 });
  } finally {
    echo.child.kill('SIGTERM');
  }

  const configurations = [];
  for (const configuration of wanted) {
    const measured = await measureConfiguration(scenario, configuration);
    configurations.push({
      ...measured,
      toCeiling: {
        ackPerSecToEcho: ratio(measured.engine.ackPerSec, echoResult.ackPerSec),
        ...(scenario === 'mllp-sync-1' ? { ackPerSecToFdatasync: ratio(measured.engine.ackPerSec, fdatasync) } : {}),
        ...(measured.ceilings.postgresCommitsPerSec ? { ackPerSecToPostgresCommits: ratio(measured.engine.ackPerSec, measured.ceilings.postgresCommitsPerSec) } : {}),
        ...(measured.ceilings.rabbitConfirmsPerSec ? { ackPerSecToRabbitConfirms: ratio(measured.engine.ackPerSec, measured.ceilings.rabbitConfirmsPerSec) } : {}),
      },
    });
  }
  return {
    scenario,
    channel: 'channels/examples/adt-to-case-system.yaml (default settings)',
    load: { ...load, messageBytes: echoResult.settings.messageBytes },
    ceiling: { mllpEcho: summary(echoResult), fdatasyncPerSec: fdatasync },
    configurations,
    loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--echo-server') await runEchoServer();
  if (process.argv[2] === '--fhir-stand-in') await runFhirStandIn();
}
