// End to end through the real engine process: MLLP in → stored → ACK → embedded queue →
// case inbox, on SQLite and on PostgreSQL.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import net from 'node:net';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { dropPg, inboxRows, uniquePgUrl } from '../support/db.js';
import { eventually, killAllEngines, prepareEngine, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';

const VT = '\x0b';
const END = '\x1c\r';

/** Send raw bytes over a fresh connection and read one framed reply. */
function rawExchange(port: number, bytes: Buffer, endAfterWrite = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (c) => {
      data += c.toString('latin1');
      if (data.endsWith(END)) {
        socket.destroy();
        resolve(data.slice(1, -2));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(data));
    socket.write(bytes);
    if (endAfterWrite) socket.end();
  });
}

const backends = [
  ['sqlite', () => ({})],
  ['postgres', () => ({ dbUrl: uniquePgUrl('store'), caseDbUrl: uniquePgUrl('inbox') })],
] as const;

describe.each(backends)('engine end to end (%s store)', (_name, urls) => {
  let e: EngineEnv;
  let engine: EngineProcess;
  let client: MllpClient;
  const { dbUrl, caseDbUrl } = urls() as { dbUrl?: string; caseDbUrl?: string };

  beforeAll(async () => {
    e = await prepareEngine({ dbUrl, caseDbUrl });
    engine = await startEngine(e);
    client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 10000 });
  });

  afterAll(async () => {
    await client?.close();
    await killAllEngines();
    if (dbUrl) await dropPg(dbUrl);
    if (caseDbUrl) await dropPg(caseDbUrl);
  });

  test('an A01 is acknowledged AA with MSA-2 = MSH-10, stored, and lands in case_inbox', async () => {
    const ack = parseAckCode(await client.send(adt({ controlId: 'E2E0001', nhsNumber: NHS_NUMBERS[0] })));
    expect(ack).toMatchObject({ code: 'AA', controlId: 'E2E0001' });
    const rows = await eventually(async () => {
      const r = await inboxRows(e.caseDbUrl);
      return r.length ? r : undefined;
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ message_type: 'ADT^A01', control_id: 'E2E0001', sending_facility: 'RCB', nhs_number: NHS_NUMBERS[0] });
    expect(JSON.parse(String(rows[0].patient_identifiers))).toEqual([
      { value: NHS_NUMBERS[0], authority: 'NHS', type: 'NH' },
      { value: 'RCBE2E0001', authority: 'RCB', type: 'MR' },
    ]);
    expect(String(rows[0].payload).split('\r')[0]).toContain('|E2E0001|');

    const list = await runCli(['messages', 'list', '--json', '--control-id', 'E2E0001'], e.env, e.dir);
    expect(list.code).toBe(0);
    const [m] = JSON.parse(list.stdout);
    expect(m).toMatchObject({ controlId: 'E2E0001', messageType: 'ADT^A01', destinations: { 'adt-in.inbox': { status: 'sent', attempts: 1 } } });
    expect(rows[0].id).toBe(m.id);

    // The audit trail follows the message: received, acknowledged AA, delivered.
    const audit = await eventually(async () => {
      const r = await runCli(['audit', 'list', '--json', '--message-id', m.id], e.env, e.dir);
      const entries = JSON.parse(r.stdout || '[]') as { action: string; detail?: { code?: string } }[];
      return entries.some((x) => x.action === 'message.delivered') ? entries : undefined;
    });
    expect(audit.map((x) => x.action)).toEqual(expect.arrayContaining(['message.received', 'message.acked', 'message.delivered']));
    expect(audit.find((x) => x.action === 'message.acked')?.detail?.code).toBe('AA');
  });

  test('a duplicate (same facility + MSH-10) is acknowledged but not delivered again', async () => {
    const first = parseAckCode(await client.send(adt({ controlId: 'E2EDUP1' })));
    const again = parseAckCode(await client.send(adt({ controlId: 'E2EDUP1' })));
    expect([first.code, again.code]).toEqual(['AA', 'AA']);
    // The same control id from another facility is a different message.
    expect(parseAckCode(await client.send(adt({ controlId: 'E2EDUP1', facility: 'RXL' }))).code).toBe('AA');
    await eventually(async () => (await inboxRows(e.caseDbUrl)).filter((r) => r.control_id === 'E2EDUP1').length === 2 || undefined);
    const rows = (await inboxRows(e.caseDbUrl)).filter((r) => r.control_id === 'E2EDUP1');
    expect(rows.map((r) => r.sending_facility).sort()).toEqual(['RCB', 'RXL']);
    const list = JSON.parse((await runCli(['messages', 'list', '--json', '--control-id', 'E2EDUP1'], e.env, e.dir)).stdout);
    expect(list).toHaveLength(2);
  });

  test('enhanced mode (MSH-15 AL) is answered CA', async () => {
    const ack = parseAckCode(await client.send(adt({ controlId: 'E2EENH', ackTypes: ['AL', 'NE'] })));
    expect(ack).toMatchObject({ code: 'CA', controlId: 'E2EENH' });
  });

  test('enhanced mode with MSH-15 NE gets no commit ACK, and the message is still delivered', async () => {
    const socket = net.connect(e.mllpPort, '127.0.0.1');
    let replied = false;
    socket.on('data', () => (replied = true));
    socket.write(`${VT}${adt({ controlId: 'E2ENE', ackTypes: ['NE', 'AL'] })}${END}`);
    const row = await eventually(async () => (await inboxRows(e.caseDbUrl)).find((r) => r.control_id === 'E2ENE'));
    expect(row).toBeDefined();
    socket.destroy();
    expect(replied).toBe(false);
  });

  test('MSH-18 8859/1 content is decoded as Latin-1', async () => {
    const text = adt({ controlId: 'E2ELAT1', family: 'MÜLLER', given: 'JOSÉ', charset: '8859/1' });
    const ack = parseAckCode(await client.send(Buffer.from(text, 'latin1')));
    expect(ack.code).toBe('AA');
    const row = await eventually(async () => (await inboxRows(e.caseDbUrl)).find((r) => r.control_id === 'E2ELAT1'));
    expect(String(row.payload)).toContain('MÜLLER^JOSÉ');
  });

  test.each([
    ['garbage', Buffer.from(`${VT}this is not HL7${END}`), /AR/],
    ['an MSH without message type and control id', Buffer.from(`${VT}MSH|^~\\&|PAS|RCB|||20260101||||P|2.4${END}`), /AR/],
    ['an oversize message', Buffer.concat([Buffer.from(VT), Buffer.from(adt({ controlId: 'BIG' }) + '\rZU1|' + 'X'.repeat(8000)), Buffer.from(END)]), /AR/],
  ])('%s gets a reject ACK with an ERR segment', async (_what, bytes, code) => {
    const reply = await rawExchange(e.mllpPort, bytes);
    expect(parseAckCode(reply).code).toMatch(code);
    expect(reply).toMatch(/\rERR\|/);
  });

  test('a truncated frame does not crash the listener', async () => {
    await rawExchange(e.mllpPort, Buffer.from(`${VT}MSH|^~\\&|PAS|RCB|||2026`), true);
    const ack = parseAckCode(await client.send(adt({ controlId: 'E2EAFTER' })));
    expect(ack.code).toBe('AA');
    expect(engine.child.exitCode).toBeNull();
  });

  test('rejected input is stored as rejected', async () => {
    const list = JSON.parse((await runCli(['messages', 'list', '--json', '--status', 'rejected'], e.env, e.dir)).stdout);
    expect(list.length).toBeGreaterThanOrEqual(2);
    expect(list.every((m: { status: string }) => m.status === 'rejected')).toBe(true);
  });

  test('200 concurrent connections are all answered and delivered', async () => {
    const clients = Array.from({ length: 200 }, () => new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 20000 }));
    try {
      const acks = await Promise.all(clients.map((c, i) => c.send(adt({ controlId: `CONC${i}`, mrn: `M${i}` }))));
      acks.forEach((a, i) => expect(parseAckCode(a)).toMatchObject({ code: 'AA', controlId: `CONC${i}` }));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    const rows = await eventually(async () => {
      const r = (await inboxRows(e.caseDbUrl)).filter((x) => String(x.control_id).startsWith('CONC'));
      return r.length === 200 ? r : undefined;
    }, 30000, '200 inbox rows');
    expect(new Set(rows.map((r) => r.control_id)).size).toBe(200);
  });

  test('SIGTERM stops gracefully, and the logs hold no patient data', async () => {
    const code = await engine.terminate();
    expect(code).toBe(0);
    const logs = engine.output();
    expect(logs).toContain('"msg":"stopped"');
    for (const secret of [NHS_NUMBERS[0], 'TESTPERSON', 'MÜLLER', 'JOSÉ', 'TEST STREET', 'FY1 1AA']) expect(logs).not.toContain(secret);
  });
});
