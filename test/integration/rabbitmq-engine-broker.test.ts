// The broker goes away under a real engine process (`rabbitmqctl stop_app` / `start_app`, or
// kill -9 of its VM and a restart on its data) while MLLP senders keep streaming: with
// `whenQueueDown: store-and-ack` (default) ACKs keep coming from the store; with `nak` the senders
// get AR and resend later, recognised as duplicates. Either way the engine reconnects by itself
// and every message reaches the PostgreSQL inbox exactly once. /readyz says 503 while the broker
// is away. The broker is a private node of this file; the shared one must come out untouched.
// Each outage is lived through by two engines at once, one per mode.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { openDatabase } from '../../adapters/store/db.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { dropPg, inboxRowsAtLeast, uniquePgUrl } from '../support/db.js';
import { eventually, killAllEngines, prepareEngine, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt } from '../support/hl7.js';
import { brokerRun, createTestVhost, expectSharedBrokerUntouchedSince, type TestVhost } from '../support/rabbit.js';
import { startPrivateRabbit, type PrivateRabbit } from '../support/rabbit-node.js';

interface Answer {
  controlId: string;
  code: string;
  /** The ACK had an ERR segment. */
  err: boolean;
  /** Answered while the broker was stopped (as far as the test knows). */
  duringOutage: boolean;
  connection: number;
}

/**
 * Senders that keep sending until stopped: `connections` connections, each one message at a
 * time (as most HL7 senders do), so an ACK that hangs shows up as a stalled sender.
 */
class Stream {
  readonly answers: Answer[] = [];
  readonly failures: string[] = [];
  outage = false;
  /** Milliseconds each sender waits between messages (0: back to back). */
  gapMs = 0;
  private stopped = false;
  private readonly running: Promise<void>[];

  constructor(port: number, label: string, connections: number) {
    this.running = Array.from({ length: connections }, (_, c) => this.sender(port, `${label}${c}S`, c));
  }

  private async sender(port: number, prefix: string, c: number): Promise<void> {
    const client = new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 60_000 });
    try {
      for (let seq = 0; !this.stopped; seq++) {
        const controlId = `${prefix}${seq}`;
        try {
          const ack = await client.send(adt({ controlId, mrn: `MRN${c}-${seq % 7}` }));
          const { code } = parseAckCode(ack);
          this.answers.push({ controlId, code, err: /(^|\r)ERR\|/.test(ack), duringOutage: this.outage, connection: c });
        } catch (err) {
          this.failures.push(`${controlId}: ${(err as Error).message}`);
        }
        if (this.gapMs > 0) await new Promise((resolve) => setTimeout(resolve, this.gapMs));
      }
    } finally {
      await client.close();
    }
  }

  count(code: string, duringOutage?: boolean): number {
    return this.answers.filter((a) => a.code === code && (duringOutage === undefined || a.duringOutage === duringOutage)).length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }
}

async function storedMessages(e: EngineEnv): Promise<{ id: string; control_id: string | null }[]> {
  const db = await openDatabase<StoreDatabase>(e.env.TRAMLINE_DB_URL!);
  try {
    return await db.kysely.selectFrom('messages').select(['id', 'control_id']).execute();
  } finally {
    await db.close();
  }
}

async function readyz(e: EngineEnv): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${e.httpPort}/readyz`);
  await res.body?.cancel();
  return res.status;
}

describe('engine over RabbitMQ when the broker restarts', () => {
  let sharedBefore: Awaited<ReturnType<typeof brokerRun>>;
  let broker: PrivateRabbit;
  let vhost: TestVhost;
  const schemas: string[] = [];

  beforeAll(async () => {
    sharedBefore = await brokerRun();
    broker = await startPrivateRabbit('engine-broker');
    vhost = await createTestVhost('engine-broker', broker);
  }, 200_000);

  afterAll(async () => {
    await killAllEngines();
    await broker?.remove();
    for (const url of schemas) await dropPg(url);
  });

  async function prepare(label: string, whenQueueDown: 'store-and-ack' | 'nak'): Promise<EngineEnv> {
    const dbUrl = uniquePgUrl(`${label}store`);
    const caseDbUrl = uniquePgUrl(`${label}inbox`);
    schemas.push(dbUrl, caseDbUrl);
    return prepareEngine({
      dbUrl,
      caseDbUrl,
      amqpUrl: vhost.url,
      extraEnv: { TRAMLINE_AMQP_PREFIX: vhost.prefix(label) },
      channelYaml: (port) => `id: adt-broker
source:
  type: mllp
  host: 127.0.0.1
  port: ${port}
  whenQueueDown: ${whenQueueDown}
destinations:
  - name: inbox
    type: case-inbox
    database: ${caseDbUrl}
    concurrency: 16
    retry: { maxAttempts: 20, initialDelayMs: 100, maxDelayMs: 2000 }
`,
    });
  }

  type Outage = (during: () => Promise<void>) => Promise<void>;
  const outages: [string, string, Outage][] = [
    ['stop_app', 'stop', (during) => broker.whileAppStopped(during)],
    ['kill -9', 'kill', (during) => broker.whileKilled(during)],
  ];

  /** One engine of a mode under test, its senders' stream and what it needs to see while the broker is away. */
  interface Run {
    e: EngineEnv;
    engine: EngineProcess;
    stream: Stream;
  }

  /**
   * Both modes go through the same outage, one engine each (on its own queue prefix and
   * databases): stream, take the broker away until each `during` has seen what it needs, bring
   * it back, stream on. A broker restart takes a large part of this file's time; one per outage
   * kind serves both modes.
   */
  async function outageMidStream(runs: { e: EngineEnv; label: string; during: (stream: Stream) => Promise<void> }[], outage: Outage): Promise<Stream[]> {
    for (const { e } of runs) expect(await readyz(e)).toBe(200);
    const streams = runs.map(({ e, label }) => new Stream(e.mllpPort, label, 4));
    await Promise.all(streams.map((stream) => eventually(async () => stream.count('AA') >= 200, 60_000, '200 ACKs before the outage')));
    await outage(async () => {
      await Promise.all(runs.map(({ e }) => eventually(async () => (await readyz(e)) === 503, 30_000, '/readyz 503 while the broker is away')));
      for (const stream of streams) stream.outage = true;
      try {
        // Once a stream has shown what it needed, its senders slow down (but keep sending) for
        // the rest of the outage: a broker restart takes seconds to tens of seconds, and at full
        // speed the senders would pile up thousands of messages that only make the drain long.
        await Promise.all(runs.map(({ during }, i) => during(streams[i]).then(() => (streams[i].gapMs = 100))));
      } finally {
        for (const stream of streams) stream.outage = false;
      }
    });
    // Reconnection is the engine's own doing: nothing here touches it.
    await Promise.all(runs.map(({ e }) => eventually(async () => (await readyz(e)) === 200, 60_000, '/readyz 200 after the broker is back')));
    for (const stream of streams) stream.gapMs = 0;
    await Promise.all(
      streams.map(async (stream) => {
        const answered = stream.answers.length;
        await eventually(async () => stream.answers.length >= answered + 200, 60_000, '200 more answers after the outage');
        await stream.stop();
        expect(stream.failures).toEqual([]);
      }),
    );
    return streams;
  }

  describe.each(outages)('broker %s', (_, label, outage) => {
    let sa: Run;
    let nk: Run;

    beforeAll(async () => {
      const [saEnv, nkEnv] = [await prepare(`sa${label}`, 'store-and-ack'), await prepare(`nak${label}`, 'nak')];
      const [saEngine, nkEngine] = await Promise.all([startEngine(saEnv), startEngine(nkEnv)]);
      const [saStream, nkStream] = await outageMidStream(
        [
          {
            e: saEnv,
            label: 'SA',
            during: async (s) => {
              const before = s.count('AA', true);
              await eventually(async () => s.count('AA', true) >= before + 100, 30_000, '100 ACKs while the broker is away');
            },
          },
          {
            e: nkEnv,
            label: 'NK',
            during: async (s) => {
              await eventually(async () => s.count('AR', true) >= 50, 30_000, '50 AR answers while the broker is away');
            },
          },
        ],
        outage,
      );
      sa = { e: saEnv, engine: saEngine, stream: saStream };
      nk = { e: nkEnv, engine: nkEngine, stream: nkStream };
    }, 400_000);

    test('store-and-ack: ACKs keep coming while the broker is away; every ACKed message reaches the inbox exactly once', async () => {
      const { e, engine, stream } = sa;
      expect(stream.answers.filter((a) => a.code !== 'AA')).toEqual([]);
      // No sender was left hanging on a message caught mid-publish when the broker went away.
      for (let c = 0; c < 4; c++) expect(stream.answers.filter((a) => a.duringOutage && a.connection === c).length).toBeGreaterThan(0);
      const acked = stream.answers.map((a) => a.controlId);
      const rows = await inboxRowsAtLeast(e.caseDbUrl, acked.length);
      expect(rows).toHaveLength(acked.length);
      expect(new Set(rows.map((r) => r.control_id))).toEqual(new Set(acked));
      const stored = await storedMessages(e);
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(stored.map((m) => m.id)));
      expect(await engine.terminate()).toBe(0);
    }, 200_000);

    test('nak: AR with an ERR while the broker is away; NAKed messages are kept, resent as duplicates, delivered once', async () => {
      const { e, engine, stream } = nk;
      const naked = stream.answers.filter((a) => a.code === 'AR');
      expect(naked.length).toBeGreaterThanOrEqual(50);
      expect(naked.every((a) => a.err)).toBe(true);
      expect(stream.answers.filter((a) => a.code !== 'AA' && a.code !== 'AR')).toEqual([]);

      // The senders send the NAKed messages again, as HL7 senders do: the engine knows them.
      const client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 30_000 });
      try {
        for (const a of naked) {
          const seq = Number(/S(\d+)$/.exec(a.controlId)![1]);
          const c = Number(/^NK(\d+)S/.exec(a.controlId)![1]);
          expect(parseAckCode(await client.send(adt({ controlId: a.controlId, mrn: `MRN${c}-${seq % 7}` }))).code).toBe('AA');
        }
      } finally {
        await client.close();
      }

      const sent = new Set(stream.answers.map((a) => a.controlId));
      const rows = await inboxRowsAtLeast(e.caseDbUrl, sent.size);
      expect(rows).toHaveLength(sent.size);
      expect(new Set(rows.map((r) => r.control_id))).toEqual(sent);
      // Resends did not become new messages: one stored message per control id, and the inbox
      // rows are exactly those messages (a redelivery of one id cannot add a row).
      const stored = await storedMessages(e);
      expect(stored).toHaveLength(sent.size);
      expect(new Set(stored.map((m) => m.control_id))).toEqual(sent);
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(stored.map((m) => m.id)));
      expect(await engine.terminate()).toBe(0);
    }, 200_000);
  });

  test('the shared broker was neither stopped nor restarted', async () => {
    await expectSharedBrokerUntouchedSince(sharedBefore);
  });
});
