// MLLP load generator (`tramline bench mllp`, and the mllp-* benchmarks): sends invented ADT
// (a new person in each message) over N connections, K messages in flight on each, either as
// fast as the engine answers or at a fixed offered rate. The rate is open-loop: message i is
// due at start + i/rate whether or not the engine has answered the ones before, and its
// latency counts from when it was due, so time spent waiting for a free slot (queueing) is in
// the figures rather than hidden by a sender that slows down with the engine.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { summarise, type LatencySummary } from './stats.js';
import { syntheticAdt, type AdtSize } from './synthetic-adt.js';

export interface MllpLoadOptions {
  host: string;
  port: number;
  /** MLLP connections, each with its own socket. */
  connections: number;
  /** Messages awaiting their ACK on one connection; 1 is original-mode (send, wait, send). */
  inFlight: number;
  /** Offered messages per second across all connections; 0 = as fast as ACKs come back. */
  rate: number;
  durationS: number;
  /** Sent first and not counted (connections opened, engine warmed up). */
  warmupS: number;
  size: AdtSize;
  /** Longest wait for an ACK (ms). */
  timeoutMs: number;
  /** Progress lines (phase starts); never message content. */
  progress?: (line: string) => void;
  /** Control-id prefix (default from the clock); loads run side by side need their own. */
  runTag?: string;
  /** Number of the first invented person (default from the clock); side by side loads need ranges apart. */
  firstPerson?: number;
}

/** A failure the command reports in one line (no stack trace). */
export class BenchError extends Error {}

export interface SentMessage {
  controlId: string;
  /** When the message was due (open-loop) or written (as fast as possible), ms since the epoch. */
  sentAt: number;
  /** ms from sentAt to the ACK; NaN when none came. */
  ackMs: number;
}

export interface MllpLoadResult {
  settings: Omit<MllpLoadOptions, 'progress'> & { messageBytes: number };
  /** Control ids of the measured messages all start with this (warm-up: `runTag` + `W`). */
  runTag: string;
  sent: number;
  /** ACK codes by MSA-1 (AA, AE, AR, CA …). */
  acks: Record<string, number>;
  /** Sends that got no ACK (timeout, connection lost), by reason. */
  failures: Record<string, number>;
  /** Due at a fixed rate but never sent: every slot was still waiting for an ACK when the run ended. */
  notSent: number;
  seconds: number;
  ackPerSec: number;
  latencyMs: { sendToAck: LatencySummary };
  /** The measured messages, for reading them back from the engine's store. */
  messages: SentMessage[];
}

const now = (): number => performance.timeOrigin + performance.now();

/** Open and close one connection, to fail early and clearly when nothing listens. */
async function probe(host: string, port: number, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(new BenchError(`cannot connect to MLLP ${host}:${port}: ${why} (is the engine running, and is this its MLLP port?)`));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(err.code ?? err.message);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
  });
}

/** A failure reason without anything message-specific, so equal causes count together. */
function reasonOf(err: unknown): string {
  return (err as Error).message.replace(/\s+/g, ' ').slice(0, 200);
}

interface PhaseOutcome {
  messages: SentMessage[];
  acks: Record<string, number>;
  failures: Record<string, number>;
  notSent: number;
  seconds: number;
}

/** One phase: send for `seconds`, then wait for every outstanding ACK. */
async function phase(clients: MllpClient[], o: MllpLoadOptions, tag: string, seconds: number, firstPerson: number): Promise<PhaseOutcome> {
  const messages: SentMessage[] = [];
  const acks: Record<string, number> = {};
  const failures: Record<string, number> = {};
  const inFlight = new Array<number>(clients.length).fill(0);
  const outstanding = new Set<Promise<void>>();
  const backlog: number[] = []; // due times of messages waiting for a free slot
  const start = now();
  const end = start + seconds * 1000;
  let due = 0; // messages made due so far (open-loop)
  let nextClient = 0;

  const freeClient = (): number => {
    for (let k = 0; k < clients.length; k++) {
      const c = (nextClient + k) % clients.length;
      if (inFlight[c] < o.inFlight) {
        nextClient = (c + 1) % clients.length;
        return c;
      }
    }
    return -1;
  };

  const send = (c: number, dueAt: number): void => {
    const seq = messages.length;
    const controlId = `${tag}${seq}`;
    const entry: SentMessage = { controlId, sentAt: dueAt, ackMs: NaN };
    messages.push(entry);
    inFlight[c]++;
    const p = clients[c]
      .send(syntheticAdt(controlId, firstPerson + seq, o.size))
      .then(
        (ackText) => {
          entry.ackMs = now() - entry.sentAt;
          const ack = parseAckCode(ackText);
          const code = ack.controlId === controlId ? ack.code || '(no MSA)' : '(ACK for another message)';
          acks[code] = (acks[code] ?? 0) + 1;
        },
        (err: unknown) => {
          const reason = reasonOf(err);
          failures[reason] = (failures[reason] ?? 0) + 1;
        },
      )
      .finally(() => {
        inFlight[c]--;
        outstanding.delete(p);
        dispatch();
      });
    outstanding.add(p);
  };

  const dispatch = (): void => {
    const t = now();
    if (t >= end) return;
    if (o.rate > 0) {
      while (start + (due * 1000) / o.rate <= t) backlog.push(start + (due++ * 1000) / o.rate);
      while (backlog.length) {
        const c = freeClient();
        if (c < 0) break;
        send(c, backlog.shift()!);
      }
    } else {
      for (let c = freeClient(); c >= 0; c = freeClient()) send(c, now());
    }
  };

  await new Promise<void>((resolve) => {
    const tick = () => {
      dispatch();
      if (now() >= end) resolve();
      else setTimeout(tick, o.rate > 0 ? 1 : 50);
    };
    tick();
  });
  // Messages that fell due before the end but found every slot taken are counted, not sent.
  if (o.rate > 0) while (start + (due * 1000) / o.rate < end) backlog.push(start + (due++ * 1000) / o.rate);
  const notSent = backlog.length;
  while (outstanding.size) await Promise.all(outstanding);
  return { messages, acks, failures, notSent, seconds: (now() - start) / 1000 };
}

/** Run the load (warm-up, then the measured phase) and summarise what the sender saw. */
export async function runMllpLoad(o: MllpLoadOptions): Promise<MllpLoadResult> {
  await probe(o.host, o.port, Math.min(o.timeoutMs, 10_000));
  // A tag of its own per run, so the run's messages can be told apart in the engine's store.
  const runTag = o.runTag ?? `TB${Date.now().toString(36).slice(-6).toUpperCase()}`;
  const clients = Array.from({ length: o.connections }, () => new MllpClient({ host: o.host, port: o.port, responseTimeoutMs: o.timeoutMs, connectTimeoutMs: Math.min(o.timeoutMs, 10_000) }));
  try {
    // People are numbered from the clock too, so runs against one engine name different people.
    const firstPerson = o.firstPerson ?? Math.floor(Date.now() / 1000) % 50_000;
    if (o.warmupS > 0) {
      o.progress?.(`warm-up: ${o.warmupS} s`);
      await phase(clients, o, `${runTag}W`, o.warmupS, firstPerson + 50_000);
    }
    o.progress?.(`measuring: ${o.durationS} s`);
    const measured = await phase(clients, o, `${runTag}M`, o.durationS, firstPerson);
    const ackMs = measured.messages.map((m) => m.ackMs).filter((ms) => !Number.isNaN(ms));
    const acked = Object.values(measured.acks).reduce((a, b) => a + b, 0);
    const { progress: _progress, runTag: _tag, firstPerson: _first, ...settings } = o;
    return {
      settings: { ...settings, messageBytes: Buffer.byteLength(syntheticAdt(`${runTag}M0`, firstPerson, o.size)) },
      runTag,
      sent: measured.messages.length,
      acks: measured.acks,
      failures: measured.failures,
      notSent: measured.notSent,
      seconds: Math.round(measured.seconds * 100) / 100,
      ackPerSec: Math.round(acked / measured.seconds),
      latencyMs: { sendToAck: summarise(ackMs) },
      messages: measured.messages,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}
