import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { buildAck } from '../../adapters/hl7v2/ack.js';
import { decodeHl7Bytes } from '../../adapters/hl7v2/charset.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { MllpServer } from '../../adapters/mllp/server.js';
import { registerSendCommand, sendFiles, splitMessages } from '../../server/cli/commands/send.js';

function msg(controlId: string, family = 'TESTPATIENT', charset = ''): string[] {
  return [
    `MSH|^~\\&|PAS|RX1|TRAMLINE|LA123|20260105093000||ADT^A01^ADT_A01|${controlId}|P|2.4||||||${charset}`,
    'EVN|A01|20260105092500',
    `PID|1||9912003888^^^NHS^NH||${family}^Sam`,
  ];
}

let server: MllpServer;
let port: number;
let dir: string;
const received: { controlId: string; family: string; raw: string }[] = [];

beforeAll(async () => {
  server = new MllpServer({
    host: '127.0.0.1',
    port: 0,
    onMessage: async (raw) => {
      const m = parseHl7(decodeHl7Bytes(raw).text);
      received.push({ controlId: m.controlId, family: m.get('PID-5') ?? '', raw: raw.toString('latin1') });
      const reject = m.controlId.startsWith('REJ');
      return buildAck(m, reject ? { code: 'AE', error: { text: 'Unknown ward', hl7ErrorCode: '103' } } : { code: 'AA' });
    },
  });
  port = await server.start();
  dir = await mkdtemp(path.join(os.tmpdir(), 'tramline-send-'));
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function capture(): { out: string[]; err: string[]; io: { log: (l: string) => void; error: (l: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l) => out.push(l), error: (l) => err.push(l) } };
}

describe('splitMessages', () => {
  test.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('%s segment ends, two messages, blank lines', (_n, eol) => {
    const text = [...msg('A1'), '', ...msg('A2'), '', ''].join(eol);
    expect(splitMessages(text)).toEqual([msg('A1').join('\r') + '\r', msg('A2').join('\r') + '\r']);
  });
});

describe('tramline send', () => {
  test('sends each message of each file and prints MSA-1 and MSA-2', async () => {
    const a01 = path.join(dir, 'A01.hl7');
    const batch = path.join(dir, 'batch.hl7');
    await writeFile(a01, '\uFEFF' + msg('1391320453338055').join('\n') + '\n');
    await writeFile(batch, [...msg('B1'), ...msg('B2')].join('\r\n'));
    const { out, err, io } = capture();
    const code = await sendFiles([a01, batch], { host: '127.0.0.1', port, timeout: 5000 }, io);
    expect(err).toEqual([]);
    expect(out).toEqual([`${a01}: AA 1391320453338055`, `${batch}#1: AA B1`, `${batch}#2: AA B2`]);
    expect(code).toBe(0);
    const sent = received.find((r) => r.controlId === 'B2');
    expect(sent?.raw).toBe(msg('B2').join('\r') + '\r');
  });

  test('Latin-1 file bytes are sent unchanged', async () => {
    const file = path.join(dir, 'latin1.hl7');
    await writeFile(file, Buffer.from(msg('L1', 'Müller', '8859/1').join('\n'), 'latin1'));
    const { out, io } = capture();
    expect(await sendFiles([file], { host: '127.0.0.1', port, timeout: 5000 }, io)).toBe(0);
    expect(out).toEqual([`${file}: AA L1`]);
    expect(received.find((r) => r.controlId === 'L1')?.family).toBe('Müller');
  });

  test('non-AA ACK, unreadable and non-HL7 files → exit 1 naming the file', async () => {
    const rej = path.join(dir, 'rej.hl7');
    const junk = path.join(dir, 'junk.txt');
    const missing = path.join(dir, 'missing.hl7');
    await writeFile(rej, msg('REJ1').join('\r'));
    await writeFile(junk, 'hello\n');
    const { out, err, io } = capture();
    const code = await sendFiles([missing, rej, junk], { host: '127.0.0.1', port, timeout: 5000 }, io);
    expect(code).toBe(1);
    expect(out).toEqual([`${rej}: AE REJ1 Unknown ward`]);
    expect(err[0]).toMatch(new RegExp(`^${missing}: cannot read file`));
    expect(err[1]).toMatch(new RegExp(`^${junk}: no HL7 v2 message`));
  });

  test('commander wiring: options, exit code, connection failure', async () => {
    const file = path.join(dir, 'cli.hl7');
    await writeFile(file, msg('CLI1').join('\n'));
    const logs: string[] = [];
    const errors: string[] = [];
    const logSpy = jest.spyOn(console, 'log').mockImplementation((l: unknown) => void logs.push(String(l)));
    const errSpy = jest.spyOn(console, 'error').mockImplementation((l: unknown) => void errors.push(String(l)));
    const before = process.exitCode;
    try {
      const program = new Command().exitOverride();
      registerSendCommand(program);
      await program.parseAsync(['send', '--host', '127.0.0.1', '--port', String(port), '--timeout', '5000', file], { from: 'user' });
      expect(logs).toEqual([`${file}: AA CLI1`]);
      expect(process.exitCode).toBe(0);

      const closedPort = await new Promise<number>((resolve) => {
        const probe = new MllpServer({ host: '127.0.0.1', port: 0, onMessage: async () => '' });
        void probe.start().then(async (p) => {
          await probe.close();
          resolve(p);
        });
      });
      const again = new Command().exitOverride();
      registerSendCommand(again);
      await again.parseAsync(['send', '--host', '127.0.0.1', '--port', String(closedPort), file], { from: 'user' });
      expect(process.exitCode).toBe(1);
      expect(errors[0]).toMatch(new RegExp(`^${file}: send failed: MLLP connect`));

      const bad = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
      registerSendCommand(bad);
      await expect(bad.parseAsync(['send', '--host', 'h', '--port', 'nope', file], { from: 'user' })).rejects.toThrow(/--port/);
    } finally {
      process.exitCode = before;
      logSpy.mockRestore();
      errSpy.mockRestore();
    }
  });
});
