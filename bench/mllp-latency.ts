// What one HL7 sender feels: a real engine process (`tramline start`) with embedded defaults
// (SQLite store, embedded queue, case-inbox table in SQLite) driven by original-mode senders
// that send one message and wait for its ACK, on 1 and on 16 connections, then by pipelined
// senders. Reports msg/s, ACK latency percentiles, and for the pipelined burst the rate at
// which rows reached the case-system inbox. BENCH_LATENCY_BACKEND=pg runs the same on
// PostgreSQL + RabbitMQ. The engine's CPU per message is the figure that is least noisy.
// Yardsticks from the same run: the same senders against an MLLP server that ACKs at once and
// stores nothing (in a process of its own, as the engine is), and the disk's fdatasync rate;
// the engine's rate ÷ the echo server's is what to compare between machines and runs.
// Set BENCH_CPU_PROF=<folder> to write a V8 CPU profile of the engine there.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { MllpClient, parseAckCode } from '../adapters/mllp/client.js';
import { dropPostgresSchema } from '../adapters/store/db.js';
import { adt, cpuMs, freePort, percentiles, startEngine, type Engine } from './end-to-end.js';
import { fdatasyncPerSec, startEchoServer } from './mllp.js';

const PG_BASE = process.env.TRAMLINE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const AMQP_HOST = process.env.TRAMLINE_BENCH_AMQP_HOST ?? 'guest:guest@127.0.0.1:5672';
const run = promisify(execFile);
/** dist/ when compiled (the build copies the channel examples there), else the repository. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Phase {
  connections: number;
  /** Messages in flight per connection (1: send, wait for the ACK, send the next). */
  window: number;
  messages: number;
}

/**
 * Syscalls the engine makes (all its threads) while `body` runs, per message, counted by
 * `strace -c` (BENCH_LATENCY_SYSCALLS=1): fsyncs and writes do not depend on how busy the
 * machine is, so they compare runs on a shared machine better than rates do (pread64: pages
 * the engine read back, from the WAL or past its page cache). Not the checkpoint worker's
 * share: it runs on a timer, so a slower run gets more of its writes per message.
 */
async function syscallsPerMessage<T>(pid: number, messages: number, body: () => Promise<T>): Promise<{ result: T; syscalls?: Record<string, number> }> {
  if (process.env.BENCH_LATENCY_SYSCALLS !== '1') return { result: await body() };
  const tracer = spawn('strace', ['-f', '-c', '-e', 'trace=fsync,fdatasync,pwrite64,pread64,write,writev', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let report = '';
  tracer.stderr.on('data', (chunk: Buffer) => (report += chunk.toString()));
  const ended = new Promise((resolve) => tracer.on('exit', resolve));
  await new Promise((r) => setTimeout(r, 500)); // attached to every thread
  const result = await body();
  tracer.kill('SIGINT');
  await ended;
  const syscalls: Record<string, number> = {};
  for (const m of report.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/gm)) {
    syscalls[m[2]] = Math.round((Number(m[1]) / messages) * 100) / 100;
  }
  return { result, syscalls };
}

/** Closed loop: each connection keeps `window` messages outstanding; ACK latency per message. */
async function drive(port: number, label: string, phase: Phase, enginePid: number) {
  const clients = Array.from({ length: phase.connections }, () => new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 60_000 }));
  // Connect first: the phase measures messages, not TCP handshakes.
  await Promise.all(clients.map((c, k) => c.send(adt(`${label}c${k}`, k))));
  const latencies: number[] = [];
  let next = 0;
  let nak = 0;
  const cpuBefore = cpuMs(enginePid);
  const start = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      const inFlight = new Set<Promise<void>>();
      while (next < phase.messages) {
        const i = next++;
        const sentAt = performance.now();
        const p = client
          .send(adt(`${label}${i}`, i % 5000))
          .then((ack) => {
            latencies.push(performance.now() - sentAt);
            if (!['AA', 'CA'].includes(parseAckCode(ack).code)) nak++;
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= phase.window) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuMs(enginePid) - cpuBefore;
  await Promise.all(clients.map((c) => c.close()));
  const { p50, p90, p99, max } = percentiles(latencies);
  return {
    ...phase,
    nak,
    ackedPerSec: Math.round(phase.messages / seconds),
    ackMs: { p50, p90, p99, max },
    engineCpuMsPerMessage: Math.round((cpu / phase.messages) * 1000) / 1000,
  };
}

/**
 * The shipped example channel (channels/examples/adt-to-case-system.yaml) on this port and
 * inbox file, its FHIR destination left out (it would measure the sandbox FHIR server, not
 * intake). BENCH_LATENCY_CONCURRENCY sets the inbox destination's `concurrency`.
 */
function benchChannel(port: number, inboxUrl: string): string {
  const channel = parse(readFileSync(path.join(ROOT, 'channels', 'examples', 'adt-to-case-system.yaml'), 'utf8')) as {
    source: Record<string, unknown>;
    destinations: Record<string, unknown>[];
  };
  channel.source.host = '127.0.0.1';
  channel.source.port = port;
  channel.destinations = channel.destinations.filter((d) => d.type === 'case-inbox');
  channel.destinations[0].database = inboxUrl;
  if (process.env.BENCH_LATENCY_CONCURRENCY) channel.destinations[0].concurrency = Number(process.env.BENCH_LATENCY_CONCURRENCY);
  return stringify(channel);
}

/** Rows in the case-system inbox (SQLite file or PostgreSQL schema): polled until `count`, returning when they were all there. */
async function inboxRows(url: string, count: number, timeoutMs: number): Promise<number> {
  const sqlite = url.startsWith('sqlite:') ? new Database(url.slice('sqlite:'.length), { readonly: true, fileMustExist: true }) : undefined;
  const schema = sqlite ? '' : new URL(url).searchParams.get('schema')!;
  const client = sqlite ? undefined : new pg.Client({ connectionString: url.replace(/\?.*$/, '') });
  await client?.connect();
  const rows = async () =>
    sqlite
      ? (sqlite.prepare('select count(*) as n from case_inbox').get() as { n: number }).n
      : Number((await client!.query<{ n: string }>(`select count(*) as n from "${schema}".case_inbox`)).rows[0].n);
  try {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const n = await rows();
      if (n >= count) return performance.now();
      if (performance.now() > deadline) throw new Error(`inbox has ${n}/${count} rows after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    sqlite?.close();
    await client?.end();
  }
}

interface Yardstick {
  /** The same senders against an MLLP server that ACKs at once and stores nothing. */
  echo: Record<'oneConnection' | 'sixteenConnections', { ackedPerSec: number; ackMs: object }>;
  /** 1 KB write + fdatasync a second on the engine's disk: one connection's commits at best. */
  fdatasyncPerSec: number;
}

/** The yardsticks, measured before the engine starts (so it cannot slow them). */
async function measureYardstick(scale: number, dir: string): Promise<Yardstick> {
  const fdatasync = fdatasyncPerSec(dir);
  const echo = await startEchoServer();
  try {
    console.error('mllp-latency: MLLP echo server (yardstick)');
    const echoPid = echo.child.pid!;
    await drive(echo.port, 'EW', { connections: 4, window: 8, messages: 2000 }, echoPid);
    const one = await drive(echo.port, 'Eone', { connections: 1, window: 1, messages: Math.round(3000 * scale) }, echoPid);
    const sixteen = await drive(echo.port, 'Esix', { connections: 16, window: 1, messages: Math.round(16_000 * scale) }, echoPid);
    const brief = (r: { ackedPerSec: number; ackMs: object }) => ({ ackedPerSec: r.ackedPerSec, ackMs: r.ackMs });
    return { echo: { oneConnection: brief(one), sixteenConnections: brief(sixteen) }, fdatasyncPerSec: fdatasync };
  } finally {
    echo.child.kill('SIGTERM');
  }
}

/** Engine msg/s ÷ the echo server's, per phase measured. */
function toEcho(phases: Record<string, object>, yardstick: Yardstick): Record<string, number> {
  const ratios: Record<string, number> = {};
  for (const name of ['oneConnection', 'sixteenConnections'] as const) {
    const phase = phases[name] as { ackedPerSec?: number } | undefined;
    if (phase?.ackedPerSec) ratios[name] = Math.round((phase.ackedPerSec / yardstick.echo[name].ackedPerSec) * 1000) / 1000;
  }
  return ratios;
}

export async function benchMllpLatency(): Promise<object> {
  const scale = Number(process.env.BENCH_LATENCY_SCALE ?? 1);
  const backend = process.env.BENCH_LATENCY_BACKEND === 'pg' ? 'pg' : 'embedded';
  const id = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-latency-'));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  let engine: Engine | undefined;
  try {
    const mllpPort = await freePort();
    // BENCH_LATENCY_INBOX=pg (with the pg backend): the case inbox in a PostgreSQL schema too,
    // as a PostgreSQL deployment would have it, instead of a SQLite file the engine fsyncs.
    const inboxUrl = backend === 'pg' && process.env.BENCH_LATENCY_INBOX === 'pg' ? `${PG_BASE}?schema=bench_latency_inbox_${id}` : `sqlite:${path.join(dir, 'case-system.db')}`;
    if (!inboxUrl.startsWith('sqlite:')) cleanups.push(() => dropPostgresSchema(inboxUrl));
    mkdirSync(path.join(dir, 'channels'));
    writeFileSync(path.join(dir, 'channels', 'adt.yaml'), benchChannel(mllpPort, inboxUrl));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_OPTIONS: '',
      TRAMLINE_DATA_DIR: path.join(dir, 'data'),
      TRAMLINE_CHANNELS: path.join(dir, 'channels'),
      TRAMLINE_HTTP_PORT: String(await freePort()),
      TRAMLINE_LOG_LEVEL: process.env.TRAMLINE_LOG_LEVEL ?? 'warn',
    };
    delete env.TRAMLINE_DB_URL;
    delete env.TRAMLINE_AMQP_URL;
    if (backend === 'pg') {
      const storeUrl = `${PG_BASE}?schema=bench_latency_${id}`;
      const vhost = `tramline-latency-${id}`;
      cleanups.push(() => dropPostgresSchema(storeUrl));
      await run('rabbitmqctl', ['-q', 'add_vhost', vhost], { timeout: 60_000 });
      cleanups.push(async () => void (await run('rabbitmqctl', ['-q', 'delete_vhost', vhost], { timeout: 60_000 })));
      await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*'], { timeout: 60_000 });
      env.TRAMLINE_DB_URL = storeUrl;
      env.TRAMLINE_AMQP_URL = `amqp://${AMQP_HOST}/${encodeURIComponent(vhost)}`;
    }
    const cpuProfDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
    const yardstick = await measureYardstick(scale, dir);
    const t0 = performance.now();
    // startEngine waits for the "tramline started" line, logged at info.
    engine = await startEngine({ ...env, TRAMLINE_LOG_LEVEL: 'info' }, dir, cpuProfDir);
    const startMs = Math.round(performance.now() - t0);
    const pid = engine.child.pid!;

    console.error('mllp-latency: warm-up');
    await drive(mllpPort, 'W', { connections: 4, window: 8, messages: 2000 }, pid);
    let sent = 2000 + 4;
    const phases: Record<string, object> = {};
    // BENCH_LATENCY_ONLY=oneConnection (e.g. for a CPU profile of that phase alone).
    const only = process.env.BENCH_LATENCY_ONLY;
    for (const [name, phase] of [
      ['oneConnection', { connections: 1, window: 1, messages: Math.round(3000 * scale) }],
      ['sixteenConnections', { connections: 16, window: 1, messages: Math.round(16_000 * scale) }],
    ] as const) {
      if (only && only !== name) continue;
      console.error(`mllp-latency: ${name}`);
      const { result, syscalls } = await syscallsPerMessage(pid, phase.messages, () => drive(mllpPort, name.slice(0, 3), phase, pid));
      phases[name] = { ...result, ...(syscalls ? { syscallsPerMessage: syscalls } : {}) };
      sent += phase.messages + phase.connections;
    }
    if (only && only !== 'pipelined') {
      engine.child.kill('SIGTERM');
      await engine.exited;
      return { backend, only, ...phases, yardstick, toEcho: toEcho(phases, yardstick), loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100) };
    }
    // Pipelined: the burst's rows counted in the inbox, after what the earlier phases left.
    const before = await inboxRows(inboxUrl, sent, 120_000);
    const burst = { connections: 8, window: 64, messages: Math.round(30_000 * scale) };
    console.error('mllp-latency: pipelined');
    const burstStart = performance.now();
    const pipelined = await drive(mllpPort, 'pip', burst, pid);
    sent += burst.messages + burst.connections;
    const lastRow = await inboxRows(inboxUrl, sent, 300_000);
    phases.pipelined = { ...pipelined, deliveredPerSec: Math.round(burst.messages / ((lastRow - burstStart) / 1000)), drainBeforeMs: Math.round(before - burstStart) };
    engine.child.kill('SIGTERM');
    await engine.exited;
    return {
      backend,
      pipeline: `MLLP → ${backend === 'pg' ? 'PostgreSQL store → RabbitMQ' : 'SQLite store → embedded queue'} → ${inboxUrl.startsWith('sqlite:') ? 'SQLite' : 'PostgreSQL'} case inbox (one engine process)`,
      messageBytes: Buffer.byteLength(adt('B0000001', 1)),
      engineStartMs: startMs,
      ...phases,
      yardstick,
      toEcho: toEcho(phases, yardstick),
      loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    };
  } catch (err) {
    if (engine) console.error(engine.tail());
    throw err;
  } finally {
    if (engine && engine.child.exitCode === null && engine.child.signalCode === null) {
      engine.child.kill('SIGKILL');
      await engine.exited;
    }
    for (const cleanup of cleanups.reverse()) await cleanup().catch((e: unknown) => console.error(`clean-up: ${(e as Error).message}`));
  }
}
