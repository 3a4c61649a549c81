// MLLP destination against a real MLLP peer on 127.0.0.1 that answers per message.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildAck, type AckCode } from '../../adapters/hl7v2/ack.js';
import { decodeHl7Bytes } from '../../adapters/hl7v2/charset.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { MllpDestination, type MllpDestinationOptions } from '../../adapters/mllp/destination.js';
import { MllpServer } from '../../adapters/mllp/server.js';
import type { Envelope } from '../../core/queue.js';
import { freePort } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { adtEnvelope, deliveryFailure } from '../support/delivery.js';

const envelope = (controlId: string, body?: string): Envelope => adtEnvelope(controlId, NHS_NUMBERS[1], body);
const failure = deliveryFailure;

/** What the peer answers to a control id: a code (or a list used in turn), a wrong MSA-2, or silence. */
type Answer = AckCode | AckCode[] | 'wrong-id' | 'hold';

describe('MLLP destination', () => {
  let server: MllpServer;
  let port: number;
  const answers = new Map<string, Answer>();
  const received: Buffer[] = [];
  /** Client port each control id arrived from. */
  const fromPort = new Map<string, number>();
  const held: (() => void)[] = [];
  const destinations: MllpDestination[] = [];

  async function destination(responseTimeoutMs = 5000): Promise<MllpDestination> {
    const d = new MllpDestination({ host: '127.0.0.1', port, responseTimeoutMs, connectTimeoutMs: 2000 });
    await d.open();
    destinations.push(d);
    return d;
  }

  beforeAll(async () => {
    server = new MllpServer({
      port: 0,
      host: '127.0.0.1',
      onMessage: async (raw, conn) => {
        received.push(raw);
        const msg = parseHl7(decodeHl7Bytes(raw).text);
        const controlId = msg.header.controlId;
        fromPort.set(controlId, conn.remotePort);
        let answer = answers.get(controlId) ?? 'AA';
        if (Array.isArray(answer)) {
          const [first, ...rest] = answer;
          if (rest.length) answers.set(controlId, rest);
          answer = first;
        }
        if (answer === 'hold') {
          await new Promise<void>((resolve) => held.push(resolve));
          return buildAck(msg, { code: 'AA' });
        }
        if (answer === 'wrong-id') return buildAck({ ...msg.header, controlId: 'SOMEONEELSE' }, { code: 'AA' });
        const text = answer === 'AA' || answer === 'CA' ? undefined : `Rejected by case system: ${'unknown ward code '.repeat(20)}`;
        return buildAck(msg, { code: answer, text });
      },
    });
    port = await server.start();
  });

  afterAll(async () => {
    held.forEach((release) => release());
    await Promise.all(destinations.map((d) => d.close()));
    await server?.close();
  });

  test('AA: delivered, the peer gets the message bytes as sent', async () => {
    const d = await destination();
    const e = envelope('MLLPAA1');
    const before = received.length;
    // The ACK is what the delivery reports as its response.
    const report = await d.deliver(e);
    expect(received.slice(before).map((b) => b.toString('utf8'))).toEqual([e.body]);
    expect(report?.response).toMatch(/^MSH\|.*\rMSA\|AA\|MLLPAA1/);
  });

  test('CA (enhanced mode commit ACK) counts as delivered', async () => {
    answers.set('MLLPCA1', 'CA');
    await (await destination()).deliver(envelope('MLLPCA1'));
  });

  test.each([
    ['AE', true],
    ['CE', true],
    ['AR', false],
    ['CR', false],
  ] as const)('%s: retryable %s, with the ACK text cut short', async (code, retryable) => {
    answers.set(`MLLP${code}`, code);
    const err = await failure((await destination()).deliver(envelope(`MLLP${code}`)));
    expect(err.retryable).toBe(retryable);
    expect(err.message).toMatch(new RegExp(`^MLLP 127\\.0\\.0\\.1:${port}: ACK ${code} \\(Rejected by case system: unknown ward code`));
    expect(err.message.length).toBeLessThan(260);
    expect(err.detail).toEqual({ ack: code });
  });

  test('AE twice, then AA: the third attempt is delivered', async () => {
    answers.set('MLLPRETRY', ['AE', 'AE', 'AA']);
    const d = await destination();
    const e = envelope('MLLPRETRY');
    expect((await failure(d.deliver(e))).retryable).toBe(true);
    expect((await failure(d.deliver(e))).retryable).toBe(true);
    await d.deliver(e);
  });

  test('Latin-1 content goes out in the character set MSH-18 names', async () => {
    const body = adt({ controlId: 'MLLPLAT1', family: 'GÜNTHER', charset: '8859/1' });
    const before = received.length;
    await (await destination()).deliver(envelope('MLLPLAT1', body));
    expect(received[before]).toEqual(Buffer.from(body, 'latin1'));
  });

  test('an ACK naming another control id is retryable', async () => {
    answers.set('MLLPWRONG', 'wrong-id');
    const err = await failure((await destination()).deliver(envelope('MLLPWRONG')));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('SOMEONEELSE');
  });

  test('no ACK within the response timeout is retryable, and the next delivery reconnects', async () => {
    answers.set('MLLPHOLD', 'hold');
    const d = await destination(300);
    const err = await failure(d.deliver(envelope('MLLPHOLD')));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/within 300 ms/);
    held.splice(0).forEach((release) => release());
    await d.deliver(envelope('MLLPAFTERHOLD'));
  });

  test('concurrent deliveries share one connection', async () => {
    const d = await destination();
    const ids = Array.from({ length: 25 }, (_, i) => `MLLPCONC${i}`);
    await Promise.all(ids.map((id) => d.deliver(envelope(id))));
    expect(new Set(ids.map((id) => fromPort.get(id))).size).toBe(1);
  });

  test('connection refused is retryable', async () => {
    const d = new MllpDestination({ host: '127.0.0.1', port: await freePort(), responseTimeoutMs: 1000, connectTimeoutMs: 1000 });
    await d.open();
    destinations.push(d);
    const err = await failure(d.deliver(envelope('MLLPREFUSED')));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});

describe('MLLP destination over TLS', () => {
  let dir = '';
  let server: MllpServer;
  let port: number;
  const destinations: MllpDestination[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-mllp-dest-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    server = new MllpServer({
      host: '127.0.0.1',
      port: 0,
      tls: { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) },
      onMessage: async (raw) => buildAck(parseHl7(decodeHl7Bytes(raw).text), { code: 'AA' }),
    });
    port = await server.start();
  });

  afterAll(async () => {
    await Promise.all(destinations.map((d) => d.close()));
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function destination(tls: MllpDestinationOptions['tls']): Promise<MllpDestination> {
    const d = new MllpDestination({ host: '127.0.0.1', port, responseTimeoutMs: 5000, connectTimeoutMs: 2000, tls });
    await d.open();
    destinations.push(d);
    return d;
  }

  test('delivers when the server certificate is signed by caFile', async () => {
    await (await destination({ caFile: path.join(dir, 'cert.pem') })).deliver(envelope('MLLPTLS1'));
  });

  test('an untrusted server certificate fails the delivery (retryable)', async () => {
    const err = await failure((await destination({})).deliver(envelope('MLLPTLS2')));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/certificate/i);
  });

  test('a missing caFile stops open() with the file named', async () => {
    const d = new MllpDestination({ host: '127.0.0.1', port, responseTimeoutMs: 1000, connectTimeoutMs: 1000, tls: { caFile: path.join(dir, 'nope.pem') } });
    await expect(d.open()).rejects.toThrow(/caFile .*nope\.pem: ENOENT/);
  });
});
