// End to end, fully persisted: MLLP in → PostgreSQL store → RabbitMQ (quorum queues, confirms)
// → case-system inbox table in PostgreSQL, through a real engine process (`tramline start`).
// Several pipelined MLLP senders feed it. A trigger on the inbox table NOTIFYs each row's
// control id, so "persisted" means the inbox row is committed (notifications arrive on commit).
// Reports: sustained msg/s (a burst of messages, counted when their rows exist), latency at a
// fixed rate (send → ACK, ACK → inbox row, send → inbox row) and the engine's RSS over the run.
// Target: ≥ 3,000 msg/s sustained; p99 ≤ 50 ms at 1,000 msg/s.
// Set BENCH_CPU_PROF=<folder> to write a V8 CPU profile of the engine there.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { MllpClient, parseAckCode } from '../adapters/mllp/client.js';
import { dropPostgresSchema } from '../adapters/store/db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// BENCH_E2E_BIN: another entry point for the engine (e.g. one that adds timing probes).
const BIN = process.env.BENCH_E2E_BIN ?? path.join(ROOT, 'bin/tramline.js');
const PG_BASE = process.env.TRAMLINE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const AMQP_HOST = process.env.TRAMLINE_BENCH_AMQP_HOST ?? 'guest:guest@127.0.0.1:5672';
const run = promisify(execFile);

export interface EndToEndOptions {
  /** Messages in the throughput burst (default 30,000). */
  burstMessages?: number;
  /** MLLP connections for the burst (default 8) and messages in flight on each (default 64). */
  senders?: number;
  window?: number;
  /** Fixed-rate phase: messages per second (default 1,000) for this many seconds (default 20). */
  rate?: number;
  rateSeconds?: number;
  /** The inbox destination's `concurrency` (deliveries in flight; default 256). */
  concurrency?: number;
}

// ---- synthetic ADT (invented people; NHS numbers pass Modulus 11) ----
const EVENTS = ['A01', 'A02', 'A03', 'A08'];

/**
 * A distinct invented NHS number per person (Modulus 11 check digit). One number per person
 * matters: the NHS number is the ordering key, and messages of one key are delivered one after
 * another — three numbers shared by a fifth of all people made three "people" receive 20% of
 * the traffic, and their serial chains, not the engine, set the measured rate.
 */
function nhsNumberOf(patient: number): string {
  for (let base = 900_000_000 + patient * 11; ; base++) {
    const digits = String(base);
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (10 - i);
    const check = (11 - (sum % 11)) % 11;
    if (check !== 10) return `${digits}${check}`;
  }
}

export function adt(controlId: string, patient: number): string {
  const event = EVENTS[patient % EVENTS.length];
  const nhs = patient % 5 === 0 ? `${nhsNumberOf(patient)}^^^NHS^NH~` : '';
  return [
    `MSH|^~\\&|PAS|RXL|TRAMLINE|BLACKPOOL|20260615093000||ADT^${event}^ADT_A01|${controlId}|P|2.4|||AL|NE|GBR|UNICODE UTF-8`,
    `EVN|${event}|20260615093000|||C1234567^DOCTOR^TEST|20260615092900`,
    `PID|1||${nhs}BENCH${patient}^^^RXL^MR||BENCHPERSON^ALEX^JAMIE^^MX||19700101|U|||${patient} TEST STREET^^BLACKPOOL^LANCASHIRE^FY1 1AA^GBR^H||01253000000^PRN^PH~07700900000^ORN^CP||EN|S|||||A|||||||`,
    `PD1|||BLACKPOOL MEDICAL CENTRE^^P81001|G1234567^GPNAME^TEST^^^DR`,
    `NK1|1|BENCHPERSON^SAM|SPO^Spouse^HL70063|${patient} TEST STREET^^BLACKPOOL^^FY1 1AA|01253000001`,
    `PV1|1|I|WARD${patient % 12}^BAY1^BED${patient % 6}^RXL||||C1234567^DOCTOR^TEST^^^DR|||GEN|||||||C1234567^DOCTOR^TEST|IP|V${controlId}|||||||||||||||||||||||||20260615090000`,
    `PV2|||^Fall at home`,
    `AL1|1|DA|^Penicillin|SV|Rash`,
  ].join('\r');
}

// ---- helpers (also used by the mllp-* benchmarks) ----
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function rabbitmqctl(...args: string[]): Promise<void> {
  await run('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
}

export function percentiles(values: number[]): { n: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
  const round = (x: number) => Math.round(x * 10) / 10;
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  return { n: sorted.length, p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1] ?? NaN), mean: round(mean) };
}

function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (ms) of one process, or of every process with one of `names` (e.g. the database server). */
export function cpuMs(pidOrNames: number | string[]): number {
  const read = (pid: string): [string, number] | undefined => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [name, (Number(fields[11]) + Number(fields[12])) * TICK_MS];
    } catch {
      return undefined;
    }
  };
  if (typeof pidOrNames === 'number') return read(String(pidOrNames))?.[1] ?? 0;
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const r = read(pid);
    if (r && pidOrNames.includes(r[0])) total += r[1];
  }
  return total;
}

/** Machine-wide busy CPU time (ms, all cores) from /proc/stat. */
export function machineBusyMs(): number {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = values.map(Number);
  return (n[0] + n[1] + n[2] + n[5] + n[6] + n[7]) * TICK_MS;
}

/** CPU spent per message during a phase: the engine's own, and what PostgreSQL and RabbitMQ used. */
async function withCpu<T extends object>(enginePid: number, messages: number, phase: () => Promise<T>): Promise<T & { cpuMsPerMessage: Record<string, number> }> {
  const take = () => ({ engine: cpuMs(enginePid), postgres: cpuMs(['postgres']), rabbitmq: cpuMs(['beam.smp']), machine: machineBusyMs() });
  const before = take();
  const result = await phase();
  const after = take();
  const per = (k: keyof typeof before) => Math.round(((after[k] - before[k]) / messages) * 1000) / 1000;
  // postgres/rabbitmq/machine include whatever else uses those servers and this machine meanwhile.
  return { ...result, cpuMsPerMessage: { engine: per('engine'), postgres: per('postgres'), rabbitmq: per('rabbitmq'), machineAll: per('machine') } };
}

export interface Engine {
  child: ChildProcess;
  exited: Promise<number | string>;
  tail(): string;
}

export async function startEngine(env: NodeJS.ProcessEnv, dir: string, cpuProfDir?: string): Promise<Engine> {
  const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'start'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`engine did not start:\n${out}`)), 60_000);
    const check = () => {
      if (out.includes('"msg":"tramline started"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`engine exited (${code}) before starting:\n${out}`));
    });
  });
  return { child, exited, tail: () => out };
}

/** Listens for committed inbox rows (control ids) through a NOTIFY trigger on the inbox table. */
class InboxWatch {
  readonly arrivedAt = new Map<string, number>();
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(private readonly client: pg.Client) {}

  static async open(inboxUrl: string, schema: string, table: string): Promise<InboxWatch> {
    const client = new pg.Client({ connectionString: inboxUrl });
    await client.connect();
    await client.query(`set search_path to "${schema}"`);
    await client.query(`create or replace function bench_notify() returns trigger language plpgsql as $$
      begin perform pg_notify('bench_inbox', new.control_id); return null; end $$`);
    await client.query(`create trigger bench_inbox_notify after insert on "${table}" for each row execute function bench_notify()`);
    const watch = new InboxWatch(client);
    client.on('notification', (n) => watch.arrived(n.payload ?? ''));
    await client.query('listen bench_inbox');
    return watch;
  }

  private arrived(controlId: string): void {
    if (this.arrivedAt.has(controlId)) return;
    this.arrivedAt.set(controlId, performance.now());
    if (this.waiters.length) {
      const size = this.arrivedAt.size;
      this.waiters = this.waiters.filter((w) => (size >= w.count ? (w.resolve(), false) : true));
    }
  }

  until(count: number, timeoutMs: number, what: string): Promise<void> {
    if (this.arrivedAt.size >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}: ${this.arrivedAt.size}/${count} inbox rows`)), timeoutMs);
      this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

function newClient(port: number): MllpClient {
  return new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 120_000 });
}

/** Closed-loop burst: each connection keeps `window` messages in flight. */
async function burst(port: number, watch: InboxWatch, label: string, total: number, senders: number, window: number) {
  const clients = Array.from({ length: senders }, () => newClient(port));
  let next = 0;
  let acked = 0;
  let nak = 0;
  const expected = watch.arrivedAt.size + total;
  const start = performance.now();
  let lastAckAt = start;
  await Promise.all(
    clients.map(async (client) => {
      const inFlight = new Set<Promise<void>>();
      while (next < total) {
        const i = next++;
        const p = client
          .send(adt(`${label}${i}`, i % 500))
          .then((ack) => {
            if (['AA', 'CA'].includes(parseAckCode(ack).code)) acked++;
            else nak++;
            lastAckAt = performance.now();
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= window) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  await watch.until(expected, 600_000, `${label} burst`);
  let persistedAt = start;
  for (const at of watch.arrivedAt.values()) persistedAt = Math.max(persistedAt, at);
  const seconds = (persistedAt - start) / 1000;
  return { messages: total, acked, nak, ackedPerSec: Math.round(total / ((lastAckAt - start) / 1000)), persistedPerSec: Math.round(total / seconds), seconds: Math.round(seconds * 100) / 100 };
}

function countArrived(watch: InboxWatch, label: string, total: number): number {
  let n = 0;
  for (let k = 0; k < total; k++) if (watch.arrivedAt.has(`${label}${k}`)) n++;
  return n;
}

/** Open-loop: message i is due at start + i/rate; latencies count from when it was due. */
async function fixedRate(port: number, watch: InboxWatch, rate: number, seconds: number, connections: number) {
  const clients = Array.from({ length: connections }, () => newClient(port));
  const total = rate * seconds;
  const dueAt = new Float64Array(total);
  const ackAt = new Float64Array(total);
  const sends: Promise<void>[] = [];
  let lateMax = 0;
  const start = performance.now() + 50;
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (i < total && start + (i * 1000) / rate <= now) {
        const k = i++;
        dueAt[k] = start + (k * 1000) / rate;
        lateMax = Math.max(lateMax, now - dueAt[k]);
        sends.push(
          clients[k % connections].send(adt(`R${k}`, k % 500)).then(
            () => void (ackAt[k] = performance.now()),
            () => void (ackAt[k] = NaN),
          ),
        );
      }
      if (i >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(sends);
  await Promise.all(clients.map((c) => c.close()));
  await watch.until(watch.arrivedAt.size + total - countArrived(watch, 'R', total), 120_000, 'fixed-rate rows').catch(() => undefined);
  const sendToAck: number[] = [];
  const ackToRow: number[] = [];
  const sendToRow: number[] = [];
  let missing = 0;
  for (let k = 0; k < total; k++) {
    const row = watch.arrivedAt.get(`R${k}`);
    if (row === undefined || Number.isNaN(ackAt[k])) {
      missing++;
      continue;
    }
    sendToAck.push(ackAt[k] - dueAt[k]);
    ackToRow.push(row - ackAt[k]);
    sendToRow.push(row - dueAt[k]);
  }
  return {
    rate,
    seconds,
    messages: total,
    missing,
    senderLateMaxMs: Math.round(lateMax),
    latencyMs: { sendToAck: percentiles(sendToAck), ackToInbox: percentiles(ackToRow), sendToInbox: percentiles(sendToRow) },
  };
}

export async function benchEndToEnd(options: EndToEndOptions = {}): Promise<object> {
  const burstMessages = options.burstMessages ?? Number(process.env.BENCH_E2E_BURST ?? 30_000);
  const senders = options.senders ?? 8;
  const window = options.window ?? 64;
  const rate = options.rate ?? 1000;
  const rateSeconds = options.rateSeconds ?? Number(process.env.BENCH_E2E_SECONDS ?? 20);
  const concurrency = options.concurrency ?? Number(process.env.BENCH_E2E_CONCURRENCY ?? 256);

  const id = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const storeSchema = `bench_e2e_store_${id}`;
  const inboxSchema = `bench_e2e_inbox_${id}`;
  const storeUrl = `${PG_BASE}?schema=${storeSchema}`;
  const inboxUrl = `${PG_BASE}?schema=${inboxSchema}`;
  const vhost = `tramline-bench-${id}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-bench-'));
  const cleanups: (() => Promise<void>)[] = [
    async () => rmSync(dir, { recursive: true, force: true }),
    () => dropPostgresSchema(storeUrl),
    () => dropPostgresSchema(inboxUrl),
  ];
  let engine: Engine | undefined;
  let watch: InboxWatch | undefined;
  const rss: { atS: number; mb: number }[] = [];
  let rssTimer: NodeJS.Timeout | undefined;
  try {
    await rabbitmqctl('add_vhost', vhost);
    cleanups.push(() => rabbitmqctl('delete_vhost', vhost));
    await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');

    const mllpPort = await freePort();
    mkdirSync(path.join(dir, 'channels'));
    writeFileSync(
      path.join(dir, 'channels', 'adt-bench.yaml'),
      `id: adt-bench
source:
  type: mllp
  host: 127.0.0.1
  port: ${mllpPort}
destinations:
  - name: inbox
    type: case-inbox
    database: ${inboxUrl}
    concurrency: ${concurrency}
    retry: { maxAttempts: 20, initialDelayMs: 100, maxDelayMs: 2000 }
`,
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_OPTIONS: '',
      TRAMLINE_DATA_DIR: path.join(dir, 'data'),
      TRAMLINE_DB_URL: storeUrl,
      TRAMLINE_CHANNELS: path.join(dir, 'channels'),
      TRAMLINE_HTTP_PORT: String(await freePort()),
      TRAMLINE_AMQP_URL: `amqp://${AMQP_HOST}/${encodeURIComponent(vhost)}`,
      TRAMLINE_LOG_LEVEL: process.env.TRAMLINE_LOG_LEVEL ?? 'info',
    };
    const cpuProfDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
    engine = await startEngine(env, dir, cpuProfDir);
    const pid = engine.child.pid!;
    const t0 = performance.now();
    rssTimer = setInterval(() => {
      const mb = rssMb(pid);
      if (mb !== undefined) rss.push({ atS: Math.round((performance.now() - t0) / 100) / 10, mb });
    }, 500);
    const inbox = await InboxWatch.open(PG_BASE, inboxSchema, 'case_inbox');
    watch = inbox;

    console.error('end-to-end: warm-up');
    await burst(mllpPort, watch, 'W', 3000, senders, window);
    console.error(`end-to-end: burst of ${burstMessages}`);
    const throughput = await withCpu(pid, burstMessages, () => burst(mllpPort, inbox, 'B', burstMessages, senders, window));
    console.error(`end-to-end: ${rate} msg/s for ${rateSeconds} s`);
    const latency = await withCpu(pid, rate * rateSeconds, () => fixedRate(mllpPort, inbox, rate, rateSeconds, 4));

    clearInterval(rssTimer);
    engine.child.kill('SIGTERM');
    const exitCode = await engine.exited;
    const mbs = rss.map((r) => r.mb);
    return {
      pipeline: 'MLLP → PostgreSQL store → RabbitMQ quorum queues → PostgreSQL case inbox (one engine process)',
      messageBytes: Buffer.byteLength(adt('B0000001', 1)),
      throughput: { ...throughput, senders, window, destinationConcurrency: concurrency },
      fixedRate: latency,
      rssMb: { start: mbs[0], max: Math.max(...mbs), end: mbs[mbs.length - 1], samples: rss.filter((_, k) => k % 10 === 0) },
      engineExit: exitCode,
      loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
      ...(cpuProfDir ? { cpuProfile: cpuProfDir } : {}),
    };
  } catch (err) {
    if (engine) console.error(engine.tail());
    throw err;
  } finally {
    clearInterval(rssTimer);
    await watch?.close().catch(() => undefined);
    if (engine && engine.child.exitCode === null && engine.child.signalCode === null) {
      engine.child.kill('SIGKILL');
      await engine.exited;
    }
    for (const cleanup of cleanups.reverse()) await cleanup().catch((e: unknown) => console.error(`clean-up: ${(e as Error).message}`));
  }
}
