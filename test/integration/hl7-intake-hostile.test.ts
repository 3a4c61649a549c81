// Hostile HL7 v2 input at a real MLLP listener, on both stores: control characters (NUL),
// bytes that are not UTF-8, and messages built to make parsing expensive. Each must be answered
// AR with an ERR naming the place and the problem (not the value), stored as rejected, and
// leave the listener serving; MSA-2 must be the sender's MSH-10 bytes, exactly.
import crypto from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Hl7Intake, type AckEvent } from '../../channels/hl7-intake.js';
import type { ChannelDefinition, MllpSourceConfig } from '../../channels/definition.js';
import { BacklogPublisher } from '../../channels/backlog.js';
import { EmbeddedQueue } from '../../adapters/queue/embedded.js';
import type { DeliveryQueue, Envelope } from '../../core/queue.js';
import { encodeFrame, MllpDecoder } from '../../adapters/mllp/framing.js';
import { MllpServer } from '../../adapters/mllp/server.js';
import { observeQueue } from '../../server/metrics.js';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import { SqlMessageStore } from '../../adapters/store/message-store.js';
import type { MessageStore } from '../../core/store.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

const ring = parseContentKeys(`k:${crypto.randomBytes(32).toString('base64')}`);

/** A synthetic ADT^A01; `msh18` '' leaves MSH-18 out. */
function adtBytes(o: { controlId?: Buffer | string; facility?: Buffer | string; pid3?: Buffer | string; family?: Buffer | string; msh18?: string }): Buffer {
  const b = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
  return Buffer.concat([
    b('MSH|^~\\&|PAS|'),
    b(o.facility ?? 'RCB'),
    b('|TRAMLINE|LA123|20260615093000||ADT^A01^ADT_A01|'),
    b(o.controlId ?? 'C1'),
    b(`|P|2.4|||||GBR|${o.msh18 ?? ''}\rEVN|A01|20260615093000\rPID|1||`),
    b(o.pid3 ?? '9434765919^^^NHS^NH'),
    b('||'),
    b(o.family ?? 'TESTPERSON'),
    b('^ALEX||19700101|U\rPV1|1|I|WARD1\r'),
  ]);
}

interface Reply {
  bytes: Buffer;
  text: string;
  fields(segment: string): string[];
}

function reply(bytes: Buffer): Reply {
  const text = bytes.toString('latin1');
  const lines = text.split('\r');
  return { bytes, text, fields: (id) => lines.find((l) => l.startsWith(`${id}|`))?.split('|') ?? [] };
}

/** MSA-2 as the bytes on the wire. */
function msa2Bytes(r: Reply): Buffer {
  return Buffer.from(r.fields('MSA')[2] ?? '', 'latin1');
}

/** Send frames on a fresh connection and collect as many reply frames as were sent. */
async function exchange(port: number, frames: Buffer[]): Promise<Reply[]> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const decoder = new MllpDecoder({ maxFrameBytes: 1 << 20 });
  const replies: Reply[] = [];
  try {
    return await new Promise<Reply[]>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`connection closed after ${replies.length} replies`)));
      socket.on('data', (chunk: Buffer) => {
        for (const e of decoder.push(chunk)) if (e.type === 'frame') replies.push(reply(e.payload));
        if (replies.length === frames.length) resolve(replies);
      });
      socket.on('connect', () => socket.write(Buffer.concat(frames.map((f) => encodeFrame(f)))));
    });
  } finally {
    socket.destroy();
  }
}

describe.each(BACKENDS)('HL7 intake of hostile input on %s', (backendName) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let store: MessageStore;
  let queue: EmbeddedQueue;
  const servers: MllpServer[] = [];
  const acks: AckEvent[] = [];
  const published: Envelope[] = [];
  const channels = new Map<string, ChannelDefinition>();
  let observed: DeliveryQueue;

  /** A listener for one channel with these source settings; returns its port. */
  async function listen(source: Partial<MllpSourceConfig> = {}, queueAvailable?: () => boolean): Promise<number> {
    const channel: ChannelDefinition & { source: MllpSourceConfig } = {
      id: `adt-${servers.length}`,
      enabled: true,
      file: 'test.yaml',
      destinations: [],
      source: { type: 'mllp', host: '127.0.0.1', port: 0, maxMessageBytes: 2 << 20, idleTimeoutMs: 0, maxConnections: 20, ackMode: 'auto', whenQueueDown: 'store-and-ack', ...source },
    };
    channels.set(channel.id, channel);
    const intake = new Hl7Intake({ channel, store, queue: observed, queueAvailable, onAck: (a) => acks.push(a) });
    const server = new MllpServer({ host: '127.0.0.1', port: 0, maxMessageBytes: channel.source.maxMessageBytes, onMessage: (raw) => intake.handle(raw) });
    servers.push(server);
    return server.start();
  }

  /** The stored record behind the last ACK sent. */
  async function lastStored() {
    const id = acks.at(-1)?.messageId;
    expect(id).toBeDefined();
    return store.get(id!);
  }

  beforeAll(async () => {
    backend = createBackend(backendName);
    db = await backend.openMigrated();
    store = new SqlMessageStore(db, ring);
    queue = new EmbeddedQueue(db, { keys: ring });
    await queue.start([{ destination: 'sink', bindings: ['#'], concurrency: 1 }]);
    observed = observeQueue(queue, (e) => published.push(...e));
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await queue?.close();
    await store?.close();
    await db?.close();
    await backend?.cleanup();
  });

  test.each([
    ['MSH-4', { facility: Buffer.from('R\0CB', 'latin1') }],
    ['MSH-10', { controlId: Buffer.from('C\0NUL1', 'latin1') }],
    ['PID-3', { pid3: Buffer.from('94347\x0065919^^^NHS^NH', 'latin1') }],
  ])('NUL in %s: AR naming the field, stored as rejected, MSA-2 = the sent MSH-10', async (field, parts) => {
    const port = await listen();
    const sent = adtBytes(parts);
    const [r] = await exchange(port, [sent]);
    expect(r.fields('MSA')[1]).toBe('AR');
    expect(msa2Bytes(r)).toEqual('controlId' in parts ? parts.controlId : Buffer.from('C1'));
    const err = r.fields('ERR');
    expect(err[8]).toBe(`${field} contains control character 0x00, not allowed in HL7 text`);
    expect(err[2]).toBe(`${field.slice(0, 3)}^1^${field.slice(4)}`);
    expect(err[3]).toBe('102^Data type error^HL70357');
    expect(r.text).not.toMatch(/send again/);
    const stored = await lastStored();
    expect(stored).toMatchObject({ status: 'rejected', error: `ParseError: ${field} contains control character 0x00, not allowed in HL7 text` });
    expect(JSON.stringify(stored)).not.toContain('\\u0000');
    expect(await store.readContent(stored!.id, 'raw')).toEqual(sent);
  });

  test('Latin-1 bytes without MSH-18: AR naming the character set, stored as rejected, MSA-2 byte-exact', async () => {
    const port = await listen();
    const controlId = Buffer.from('ZO\xeb1', 'latin1');
    const sent = adtBytes({ controlId, family: Buffer.from('BRONT\xcb', 'latin1') });
    const [r] = await exchange(port, [sent]);
    expect(r.fields('MSA')[1]).toBe('AR');
    expect(msa2Bytes(r)).toEqual(controlId);
    expect(r.fields('ERR')[8]).toMatch(/^Message is not valid UTF-8 and MSH-18 declares no character set/);
    expect(r.bytes.includes(Buffer.from('\ufffd'))).toBe(false);
    const stored = await lastStored();
    expect(stored?.status).toBe('rejected');
    expect(await store.readContent(stored!.id, 'raw')).toEqual(sent);
  });

  test('UTF-8 MSH-10 is echoed byte for byte in an AA', async () => {
    const port = await listen();
    const controlId = Buffer.from('ZOË-1', 'utf8');
    const [r] = await exchange(port, [adtBytes({ controlId, msh18: 'UNICODE UTF-8' })]);
    expect(r.fields('MSA')[1]).toBe('AA');
    expect(msa2Bytes(r)).toEqual(controlId);
  });

  test('MSH-18 8859/1: accepted, and MSA-2 carries the Latin-1 byte as sent (not re-encoded as UTF-8)', async () => {
    const port = await listen();
    const controlId = Buffer.from('ZO\xeb3', 'latin1');
    const [r] = await exchange(port, [adtBytes({ controlId, msh18: '8859/1', family: Buffer.from('BRONT\xcb', 'latin1') })]);
    expect(r.fields('MSA')[1]).toBe('AA');
    expect(msa2Bytes(r)).toEqual(controlId);
    expect(r.fields('MSH')[17]).toBe('8859/1'); // MSH-18: split() counts MSH-2 as [1]
  });

  test('with the channel charset windows-1252 the same bytes are decoded by it and accepted', async () => {
    const port = await listen({ charset: 'windows-1252' });
    const controlId = Buffer.from('ZO\xeb2', 'latin1');
    const [r] = await exchange(port, [adtBytes({ controlId, family: Buffer.from('BRONT\xcb\x80', 'latin1') })]);
    expect(r.fields('MSA')[1]).toBe('AA');
    expect(msa2Bytes(r)).toEqual(controlId);
    const envelope = published.find((e) => e.messageId === acks.at(-1)?.messageId);
    expect(envelope?.body).toContain('|BRONTË€^ALEX|');
    expect(envelope?.headers.controlId).toBe('ZOë2');
    expect(envelope?.body).not.toContain('\ufffd');
  });

  test('a message decoded by the channel charset is decoded the same way when the backlog queues it later', async () => {
    const port = await listen({ charset: 'windows-1252' }, () => false);
    // Not valid UTF-8 by accident (as 'BRONT\xcb\x80' would be): 0x80 cannot start a character.
    const [r] = await exchange(port, [adtBytes({ controlId: 'LATER1', family: Buffer.from('\x80BRONT\xcb', 'latin1') })]);
    expect(r.fields('MSA')[1]).toBe('AA');
    const id = acks.at(-1)?.messageId;
    expect(published.some((e) => e.messageId === id)).toBe(false);
    await new BacklogPublisher(store, observed, channels).run();
    const envelope = published.find((e) => e.messageId === id);
    expect(envelope?.body).toContain('|€BRONTË^ALEX|');
    expect(envelope?.body).not.toContain('\ufffd');
  });

  test('a byte the channel charset does not define is rejected, not replaced', async () => {
    const port = await listen({ charset: 'windows-1252' });
    const [r] = await exchange(port, [adtBytes({ controlId: 'UNDEF1', family: Buffer.from('X\x81', 'latin1') })]);
    expect(r.fields('MSA')[1]).toBe('AR');
    expect(r.fields('ERR')[8]).toMatch(/^Message has bytes not defined in character set windows-1252/);
    expect((await lastStored())?.status).toBe('rejected');
  });

  test('1,000,000 empty PID-3 repetitions: AR at once naming PID-3 and the limit; another sender is served meanwhile', async () => {
    const port = await listen();
    const hostile = adtBytes({ controlId: 'REPS1', pid3: '~'.repeat(1_000_000) });
    // No time bound here (timing belongs to benchmarks): the AR names the limit that stopped
    // the parse, and the other sender on the same listener is answered.
    const [[bad], [good]] = await Promise.all([exchange(port, [hostile]), exchange(port, [adtBytes({ controlId: 'GOOD1', msh18: 'UNICODE UTF-8' })])]);
    expect(bad.fields('MSA').slice(1, 3)).toEqual(['AR', 'REPS1']);
    expect(bad.fields('ERR')[8]).toBe('Number of repetitions of PID-3 exceeds the limit of 1000');
    expect(bad.fields('ERR')[2]).toBe('PID^1^3');
    expect(good.fields('MSA').slice(1, 3)).toEqual(['AA', 'GOOD1']);
    const rejected = await store.list({ status: 'rejected', controlId: undefined });
    expect(rejected.some((m) => m.error === 'ParseError: Number of repetitions of PID-3 exceeds the limit of 1000')).toBe(true);
  });

  test('limits are configurable per channel: segments, fields, components', async () => {
    const port = await listen({ limits: { segments: 5, fieldsPerSegment: 20, componentsPerField: 10 } });
    const tooManySegments = Buffer.concat([adtBytes({ controlId: 'SEG1' }), Buffer.from('NTE|1\rNTE|2\r')]);
    const tooManyFields = Buffer.concat([adtBytes({ controlId: 'FLD1' }), Buffer.from(`ZX1${'|'.repeat(21)}\r`)]);
    const tooManyComponents = adtBytes({ controlId: 'CMP1', pid3: `1${'^'.repeat(10)}` });
    const within = adtBytes({ controlId: 'OK1', pid3: `1${'^'.repeat(9)}` });
    const replies = await exchange(port, [tooManySegments, tooManyFields, tooManyComponents, within]);
    expect(replies.map((r) => [r.fields('MSA')[1], r.fields('ERR')[8] ?? ''])).toEqual([
      ['AR', 'Number of segments exceeds the limit of 5'],
      ['AR', 'Number of fields in ZX1 exceeds the limit of 20'],
      ['AR', 'Number of components of PID-3 exceeds the limit of 10'],
      ['AA', ''],
    ]);
  });
});
