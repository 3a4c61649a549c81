import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DeliveryError, ParseError } from '../../core/errors.js';
import { ackForUnparseable, buildAck } from '../../adapters/hl7v2/ack.js';
import { decodeHl7Bytes } from '../../adapters/hl7v2/charset.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { encodeFrame, MllpDecoder } from '../../adapters/mllp/framing.js';
import { MllpServer, type MllpServerOptions } from '../../adapters/mllp/server.js';

const HOST = '127.0.0.1';

function message(controlId: string, nhs = '9434765919'): string {
  return [
    `MSH|^~\\&|PAS|RX1|TRAMLINE|LA123|20260105093000||ADT^A01^ADT_A01|${controlId}|P|2.4`,
    'EVN|A01|20260105092500',
    `PID|1||${nhs}^^^NHS^NH||TESTPATIENT^Alex`,
    'PV1|1|I|RX1^WARD7',
  ].join('\r');
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The ACK handler a channel source would use: parse, then AA or AR. */
async function ackHandler(raw: Buffer): Promise<string> {
  const msg = parseHl7(decodeHl7Bytes(raw).text);
  return buildAck(msg, { code: 'AA' });
}

const servers: MllpServer[] = [];
const clients: MllpClient[] = [];
const sockets: net.Socket[] = [];

async function startServer(opts: Partial<MllpServerOptions> = {}): Promise<{ server: MllpServer; port: number }> {
  const server = new MllpServer({ host: HOST, port: 0, onMessage: ackHandler, ...opts });
  servers.push(server);
  const port = await server.start();
  return { server, port };
}

function client(port: number, opts: { responseTimeoutMs?: number } = {}): MllpClient {
  const c = new MllpClient({ host: HOST, port, ...opts });
  clients.push(c);
  return c;
}

/** A raw TCP peer that collects reply frames. */
async function rawPeer(port: number): Promise<{ socket: net.Socket; replies: string[]; closed: Promise<void> }> {
  const socket = net.connect({ host: HOST, port });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const decoder = new MllpDecoder({ maxFrameBytes: 1 << 20 });
  const replies: string[] = [];
  socket.on('data', (chunk) => {
    for (const e of decoder.push(chunk)) if (e.type === 'frame') replies.push(e.payload.toString('utf8'));
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, replies, closed };
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('MLLP server and client', () => {
  test('round trip: AA with MSA-2 = MSH-10', async () => {
    const { port } = await startServer();
    const c = client(port);
    const ack = await c.send(message('RT0001'));
    expect(parseAckCode(ack)).toEqual({ code: 'AA', controlId: 'RT0001', text: '' });
    const second = await c.send(message('RT0002'));
    expect(parseAckCode(second).controlId).toBe('RT0002');
  });

  test('several in flight on one connection: processed concurrently, answered in order', async () => {
    const firstRelease = deferred();
    const started: string[] = [];
    const finished: string[] = [];
    const { port } = await startServer({
      onMessage: async (raw) => {
        const msg = parseHl7(raw.toString('utf8'));
        started.push(msg.controlId);
        // The first message finishes only after the last one: replies must still be in order.
        if (msg.controlId === 'ORD1') await firstRelease.promise;
        if (msg.controlId === 'ORD5') firstRelease.resolve();
        finished.push(msg.controlId);
        return buildAck(msg, { code: 'AA' });
      },
    });
    const peer = await rawPeer(port);
    const ids = ['ORD1', 'ORD2', 'ORD3', 'ORD4', 'ORD5'];
    peer.socket.write(Buffer.concat(ids.map((id) => encodeFrame(message(id)))));
    await waitFor(() => peer.replies.length === ids.length);
    expect(started).toEqual(ids);
    expect(finished[finished.length - 1]).toBe('ORD1');
    expect(peer.replies.map((r) => parseAckCode(r).controlId)).toEqual(ids);

    // The client pipelines too and matches replies by position.
    const c = client(port);
    const acks = await Promise.all(['P1', 'P2', 'P3'].map((id) => c.send(message(id))));
    expect(acks.map((a) => parseAckCode(a).controlId)).toEqual(['P1', 'P2', 'P3']);
  });

  test('200 concurrent connections', async () => {
    let peak = 0;
    const { server, port } = await startServer({
      onMessage: async (raw) => {
        peak = Math.max(peak, server.connections);
        return ackHandler(raw);
      },
    });
    const many = Array.from({ length: 200 }, () => client(port));
    const acks = await Promise.all(many.map((c, i) => c.send(message(`CONC${i}`))));
    expect(acks.map((a) => parseAckCode(a))).toEqual(acks.map((_, i) => ({ code: 'AA', controlId: `CONC${i}`, text: '' })));
    expect(peak).toBeGreaterThan(1);
    const more = await Promise.all(many.map((c, i) => c.send(message(`AGAIN${i}`))));
    expect(more.every((a, i) => parseAckCode(a).controlId === `AGAIN${i}`)).toBe(true);
    expect(server.connections).toBe(200);
  });

  test('graceful close waits for in-flight work and writes its ACK', async () => {
    const gate = deferred();
    const entered = deferred();
    const { server, port } = await startServer({
      onMessage: async (raw) => {
        entered.resolve();
        await gate.promise;
        return ackHandler(raw);
      },
    });
    const c = client(port);
    const pendingAck = c.send(message('GRACE1'));
    await entered.promise;
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    // No new connections while closing.
    const late = new MllpClient({ host: HOST, port, connectTimeoutMs: 2000 });
    await expect(late.send(message('LATE1'))).rejects.toBeInstanceOf(DeliveryError);
    await late.close();
    expect(closed).toBe(false);
    gate.resolve();
    expect(parseAckCode(await pendingAck)).toMatchObject({ code: 'AA', controlId: 'GRACE1' });
    await closing;
    expect(server.connections).toBe(0);
  });

  test('garbage, non-HL7 frames and truncated frames do not crash the server', async () => {
    const { server, port } = await startServer({
      onError: (err, raw) => ackForUnparseable(raw.toString('latin1'), err as Error),
    });
    const peer = await rawPeer(port);
    peer.socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n')); // junk outside frames
    peer.socket.write(encodeFrame('this is not hl7'));
    peer.socket.write(encodeFrame(message('OK0001')));
    peer.socket.write(encodeFrame('MSH|^~\\&|PAS|RX1|TL|LA|20260101|||NOTYPE1|P|2.4'));
    await waitFor(() => peer.replies.length === 3);
    expect(peer.replies.map((r) => parseAckCode(r).code)).toEqual(['AR', 'AA', 'AR']);
    expect(parseAckCode(peer.replies[2]).controlId).toBe('NOTYPE1');
    expect(parseHl7(peer.replies[2]).get('ERR-3')).toBe('101');

    // A frame cut off by the peer closing mid-frame, and one cut off by a new start block.
    const cut = await rawPeer(port);
    cut.socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from('MSH|^~\\&|PAS|RX1|TL|LA|2026')]));
    cut.socket.end();
    await cut.closed;
    const restarted = await rawPeer(port);
    restarted.socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from('MSH|^~\\&|half'), encodeFrame(message('AFTER1'))]));
    await waitFor(() => restarted.replies.length === 1);
    expect(parseAckCode(restarted.replies[0]).controlId).toBe('AFTER1');

    expect(parseAckCode(await client(port).send(message('STILL1'))).code).toBe('AA');
    expect(server.connections).toBeGreaterThan(0);
  });

  test('onMessage throwing without onError drops only that connection', async () => {
    const { port } = await startServer({
      onMessage: async (raw) => {
        const msg = parseHl7(raw.toString('utf8'));
        if (msg.controlId === 'BOOM1') throw new Error('handler failed');
        return buildAck(msg, { code: 'AA' });
      },
    });
    const c = client(port);
    await expect(c.send(message('BOOM1'))).rejects.toBeInstanceOf(DeliveryError);
    // The client reconnects on demand; the listener is still up.
    expect(parseAckCode(await c.send(message('FINE1'))).controlId).toBe('FINE1');
  });

  test('onError that itself throws drops the connection but keeps the listener', async () => {
    const { port } = await startServer({
      onMessage: async () => {
        throw new ParseError('bad', 'MSH');
      },
      onError: () => {
        throw new Error('worse');
      },
    });
    const peer = await rawPeer(port);
    peer.socket.write(encodeFrame(message('X1')));
    await peer.closed;
    expect(peer.replies).toEqual([]);
    const again = await rawPeer(port);
    expect(again.socket.destroyed).toBe(false);
  });

  test('oversize frame is answered via onOversize and the connection keeps working', async () => {
    let prefixSeen = '';
    const { port } = await startServer({
      maxMessageBytes: 2000,
      onOversize: (prefix) => {
        prefixSeen = prefix.toString('latin1');
        return ackForUnparseable(prefixSeen, 'Message larger than 2000 bytes');
      },
    });
    const peer = await rawPeer(port);
    const big = message('BIG1') + '\rNTE|1||' + 'x'.repeat(50_000);
    peer.socket.write(Buffer.concat([encodeFrame(big), encodeFrame(message('SMALL1'))]));
    await waitFor(() => peer.replies.length === 2);
    expect(parseAckCode(peer.replies[0])).toEqual({ code: 'AR', controlId: 'BIG1', text: 'Message larger than 2000 bytes' });
    expect(parseAckCode(peer.replies[1])).toMatchObject({ code: 'AA', controlId: 'SMALL1' });
    expect(prefixSeen.length).toBeLessThanOrEqual(2000);
  });

  test('idle connections are closed', async () => {
    const { server, port } = await startServer({ idleTimeoutMs: 100 });
    const peer = await rawPeer(port);
    await waitFor(() => server.connections === 1);
    await peer.closed;
    await waitFor(() => server.connections === 0);
  });

  test('connections beyond maxConnections are closed at once; the open ones and later ones are served', async () => {
    const refused: string[] = [];
    const { server, port } = await startServer({ maxConnections: 5, onRefused: (remote) => refused.push(remote) });
    const kept: Awaited<ReturnType<typeof rawPeer>>[] = [];
    for (let i = 0; i < 5; i++) kept.push(await rawPeer(port));
    await waitFor(() => server.connections === 5);
    const extra = await Promise.all(Array.from({ length: 20 }, () => rawPeer(port)));
    // Each surplus connection is closed by the server without a reply.
    await Promise.all(extra.map((p) => p.closed));
    expect(extra.every((p) => p.replies.length === 0)).toBe(true);
    expect(refused).toHaveLength(20);
    expect(refused[0]).toMatch(/127\.0\.0\.1/);
    expect(server.connections).toBe(5);
    // The connections within the cap keep working.
    kept[0].socket.write(encodeFrame(message('KEPT1')));
    await waitFor(() => kept[0].replies.length === 1);
    expect(parseAckCode(kept[0].replies[0])).toMatchObject({ code: 'AA', controlId: 'KEPT1' });
    // Once some close, new connections are served again.
    kept[1].socket.destroy();
    kept[2].socket.destroy();
    await waitFor(() => server.connections === 3);
    expect(parseAckCode(await client(port).send(message('AFTER1')))).toMatchObject({ code: 'AA', controlId: 'AFTER1' });
    expect(refused).toHaveLength(20);
  });

  test('the connection limit defaults to 200', async () => {
    const refused: string[] = [];
    const { server, port } = await startServer({ onRefused: (remote) => refused.push(remote) });
    await Promise.all(Array.from({ length: 200 }, () => rawPeer(port)));
    await waitFor(() => server.connections === 200);
    const extra = await rawPeer(port);
    await extra.closed;
    expect(refused).toHaveLength(1);
  });

  test('null reply sends nothing and keeps the connection (enhanced mode NE)', async () => {
    const { port } = await startServer({
      onMessage: async (raw) => {
        const msg = parseHl7(raw.toString('utf8'));
        return msg.controlId === 'QUIET1' ? null : buildAck(msg, { code: 'CA' });
      },
    });
    const peer = await rawPeer(port);
    peer.socket.write(Buffer.concat([encodeFrame(message('QUIET1')), encodeFrame(message('LOUD1'))]));
    await waitFor(() => peer.replies.length === 1);
    expect(parseAckCode(peer.replies[0])).toMatchObject({ code: 'CA', controlId: 'LOUD1' });
    expect(peer.socket.destroyed).toBe(false);
  });

  test('back-pressure: more in flight than the per-connection limit still all answered in order', async () => {
    const gate = deferred();
    const { server, port } = await startServer({
      maxInFlightPerConnection: 2,
      onMessage: async (raw) => {
        await gate.promise;
        return ackHandler(raw);
      },
    });
    const peer = await rawPeer(port);
    const ids = Array.from({ length: 10 }, (_, i) => `BP${i}`);
    for (const id of ids) peer.socket.write(encodeFrame(message(id)));
    await waitFor(() => server.pending >= 2);
    gate.resolve();
    await waitFor(() => peer.replies.length === ids.length);
    expect(peer.replies.map((r) => parseAckCode(r).controlId)).toEqual(ids);
    expect(server.pending).toBe(0);
  });

  test('Latin-1 message bytes survive the round trip', async () => {
    let family = '';
    const { port } = await startServer({
      onMessage: async (raw) => {
        const msg = parseHl7(decodeHl7Bytes(raw).text);
        family = msg.get('PID-5') ?? '';
        return buildAck(msg, { code: 'AA' });
      },
    });
    const text = message('LAT1').replace('|2.4', '|2.4||||||8859/1').replace('TESTPATIENT', 'Müller');
    const ack = await client(port).send(text);
    expect(family).toBe('Müller');
    expect(parseAckCode(ack).code).toBe('AA');
  });
});

describe('MLLP over TLS', () => {
  let dir = '';
  let key: Buffer;
  let cert: Buffer;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-mllp-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    key = readFileSync(path.join(dir, 'key.pem'));
    cert = readFileSync(path.join(dir, 'cert.pem'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('round trip with a verified server certificate', async () => {
    const { port } = await startServer({ tls: { key, cert } });
    const c = new MllpClient({ host: HOST, port, tls: { ca: cert } });
    clients.push(c);
    expect(parseAckCode(await c.send(message('TLS1')))).toMatchObject({ code: 'AA', controlId: 'TLS1' });
  });

  test('untrusted certificate is refused by the client', async () => {
    const { port } = await startServer({ tls: { key, cert } });
    const tlsClient = new MllpClient({ host: HOST, port, tls: {} });
    clients.push(tlsClient);
    await expect(tlsClient.send(message('TLS2'))).rejects.toBeInstanceOf(DeliveryError);
  });
});

describe('MLLP client failures', () => {
  test('response timeout rejects (retryable) and the next send reconnects', async () => {
    let connections = 0;
    let answer = false;
    const silent = net.createServer((socket) => {
      connections++;
      const decoder = new MllpDecoder({ maxFrameBytes: 1 << 20 });
      socket.on('data', (chunk) => {
        for (const e of decoder.push(chunk)) {
          if (e.type === 'frame' && answer) socket.write(encodeFrame(buildAck(parseHl7(e.payload.toString()), { code: 'AA' })));
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, HOST, () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const c = client(port, { responseTimeoutMs: 200 });
      const err = await c.send(message('TO1')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeliveryError);
      expect((err as DeliveryError).retryable).toBe(true);
      answer = true;
      expect(parseAckCode(await c.send(message('TO2'))).controlId).toBe('TO2');
      expect(connections).toBe(2);
    } finally {
      await clients.splice(0).reduce((p, c) => p.then(() => c.close()), Promise.resolve());
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  test('connection refused → retryable DeliveryError', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, HOST, () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await client(port).send(message('REF1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).retryable).toBe(true);
  });

  test('sends issued before the connection is up go out in call order', async () => {
    const order: string[] = [];
    const { port } = await startServer({
      onMessage: async (raw) => {
        const msg = parseHl7(raw.toString('utf8'));
        order.push(msg.controlId);
        return buildAck(msg, { code: 'AA' });
      },
    });
    const c = client(port);
    const ids = Array.from({ length: 20 }, (_, i) => `SEQ${i}`);
    const acks = await Promise.all(ids.map((id) => c.send(message(id))));
    expect(order).toEqual(ids);
    expect(acks.map((a) => parseAckCode(a).controlId)).toEqual(ids);
  });

  test('send after close is refused', async () => {
    const { port } = await startServer();
    const c = client(port);
    await c.close();
    await expect(c.send(message('C1'))).rejects.toBeInstanceOf(DeliveryError);
  });
});
