// What the machine charges for the few operations every message pays for, measured alone, so
// that the engine's figures (mllp-latency, mllp-steady, scale-out) can be read against them:
// a SQLite WAL commit (the embedded store's durable write) of one page, of eight, and of the
// ~32 pages a lone message's commit writes; a round trip to a worker thread (the price of moving work off
// the engine's thread); a loopback TCP round trip to another process (every MLLP ACK, every
// PostgreSQL or RabbitMQ request); a durable PostgreSQL insert; a RabbitMQ quorum-queue
// confirm with one publish in flight. The yardstick is the disk's fdatasync rate, as in the
// other MLLP benches. `budgets` sets each against the time a message may take for the targets
// of one synchronous connection (1,000 msg/s embedded, 400 msg/s PostgreSQL + RabbitMQ).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { rabbitmqctl } from './end-to-end.js';
import { fdatasyncPerSec, withPostgresProbe, withQuorumProbe } from './mllp.js';

const AMQP_HOST = process.env.TRAMLINE_BENCH_AMQP_HOST ?? 'guest:guest@127.0.0.1:5672';
const MS = Number(process.env.BENCH_PRIMITIVES_MS ?? 2000);

interface Cost {
  /** Elapsed µs per operation, one after another. */
  us: number;
  /** This process's CPU µs per operation (all its threads; the kernel's share included). */
  cpuUs: number;
  operations: number;
}

/** Runs `op` back to back for MS (after a short warm-up): elapsed and CPU time per call. */
async function costOf(op: () => unknown): Promise<Cost> {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) await op();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < MS) {
    await op();
    n++;
  }
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const round = (x: number) => Math.round(x * 10) / 10;
  return { us: round((elapsed * 1000) / n), cpuUs: round((cpu.user + cpu.system) / n), operations: n };
}

/**
 * SQLite as the embedded store opens it (WAL, synchronous = FULL), committing one row into each
 * of `tables` tables: every table is a b-tree whose changed page the commit writes to the WAL.
 */
async function sqliteCommit(dir: string, tables: number): Promise<Cost> {
  const db = new Database(path.join(dir, `commit-${tables}.db`));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const inserts = Array.from({ length: tables }, (_, i) => {
      db.exec(`create table t${i} (id integer primary key, body text)`);
      return db.prepare(`insert into t${i} (body) values (?)`);
    });
    const body = 'x'.repeat(100);
    const commit = db.transaction(() => {
      for (const insert of inserts) insert.run(body);
    });
    return await costOf(() => commit());
  } finally {
    db.close();
  }
}

/** A 1 KB message to a worker thread and its answer back (structured clone both ways). */
async function threadRoundTrip(): Promise<Cost> {
  const worker = new Worker(`const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m.id));`, { eval: true });
  let answer: (() => void) | undefined;
  worker.on('message', () => answer?.());
  const body = Buffer.alloc(1024, 1);
  let id = 0;
  try {
    return await costOf(() => new Promise<void>((resolve) => ((answer = resolve), worker.postMessage({ id: id++, body }))));
  } finally {
    await worker.terminate();
  }
}

/** 500 bytes over loopback TCP to an echo in another process and one byte back. */
async function loopbackRoundTrip(): Promise<Cost> {
  const server = spawn(process.execPath, ['-e', `require('node:net').createServer((s) => s.on('data', () => s.write('k'))).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve) => server.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))));
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer: (() => void) | undefined;
    socket.on('data', () => answer?.());
    const body = Buffer.alloc(500, 1);
    try {
      return await costOf(() => new Promise<void>((resolve) => ((answer = resolve), socket.write(body))));
    } finally {
      socket.destroy();
    }
  } finally {
    server.kill();
  }
}

/** A prepared single-row insert of 1 KB on one connection, each its own durable commit. */
function postgresCommit(schema: string): Promise<Cost> {
  let n = 0;
  return withPostgresProbe(schema, (insert) => costOf(() => insert(n++)));
}

/** A persistent 1 KB publish to a quorum queue and its confirm, one in flight (a lone sender's message). */
function rabbitConfirm(vhost: string): Promise<Cost> {
  return withQuorumProbe(`amqp://${AMQP_HOST}/${encodeURIComponent(vhost)}`, (publish) => costOf(publish));
}

export async function benchPrimitives(): Promise<object> {
  const id = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-primitives-'));
  const vhost = `tramline-primitives-${id}`;
  try {
    const yardstick = { fdatasyncPerSec: fdatasyncPerSec(dir, MS) };
    console.error('primitives: SQLite commits');
    const sqlite = { onePage: await sqliteCommit(dir, 1), eightPages: await sqliteCommit(dir, 8), thirtyTwoPages: await sqliteCommit(dir, 32) };
    console.error('primitives: thread and loopback round trips');
    const thread = await threadRoundTrip();
    const loopback = await loopbackRoundTrip();
    console.error('primitives: PostgreSQL and RabbitMQ');
    const postgres = await postgresCommit(`bench_primitives_${id}`);
    await rabbitmqctl('add_vhost', vhost);
    let rabbit: Cost;
    try {
      await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
      rabbit = await rabbitConfirm(vhost);
    } finally {
      await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
    }
    const share = (us: number, budget: number) => Math.round((us / budget) * 100) / 100;
    return {
      sqliteCommit: sqlite,
      threadRoundTrip: thread,
      loopbackRoundTrip: loopback,
      postgresCommit: postgres,
      rabbitmqQuorumConfirm: rabbit,
      // The share of one message's time, at each target's rate, that one primitive takes alone.
      budgets: {
        embeddedOneConnection: { usPerMessage: 1000, walCommitOf32Pages: share(sqlite.thirtyTwoPages.us, 1000), loopbackRoundTrip: share(loopback.us, 1000) },
        postgresOneConnection: { usPerMessage: 2500, postgresCommit: share(postgres.us, 2500), rabbitmqConfirm: share(rabbit.us, 2500), loopbackRoundTrip: share(loopback.us, 2500) },
      },
      yardstick,
      loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
