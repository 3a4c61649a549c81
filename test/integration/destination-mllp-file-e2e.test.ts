// End to end through the real engine process with an MLLP downstream (AE retried, AR
// dead-lettered) and a pick-up folder (one whole file per message).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildAck } from '../../adapters/hl7v2/ack.js';
import { decodeHl7Bytes } from '../../adapters/hl7v2/charset.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { MllpServer } from '../../adapters/mllp/server.js';
import { eventually, prepareEngine, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';

interface ListedMessage {
  id: string;
  controlId: string;
  destinations: Record<string, { status: string; attempts: number; error?: string }>;
}

describe('engine with MLLP and file destinations', () => {
  let downstream: MllpServer;
  let e: EngineEnv;
  let engine: EngineProcess;
  let client: MllpClient;
  const seen = new Map<string, number>();
  let dropDir: string;

  beforeAll(async () => {
    downstream = new MllpServer({
      host: '127.0.0.1',
      port: 0,
      onMessage: async (raw) => {
        const msg = parseHl7(decodeHl7Bytes(raw).text);
        const id = msg.header.controlId;
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        if (id.startsWith('E2EAR')) return buildAck(msg, { code: 'AR', text: 'Unsupported event' });
        return buildAck(msg, { code: n <= 2 ? 'AE' : 'AA', text: n <= 2 ? 'Case system busy' : undefined });
      },
    });
    const downstreamPort = await downstream.start();
    e = await prepareEngine({
      channelYaml: (port) => `id: adt-fwd
source:
  type: mllp
  host: 127.0.0.1
  port: ${port}
destinations:
  - name: downstream
    type: mllp
    host: 127.0.0.1
    port: ${downstreamPort}
    responseTimeoutMs: 5000
    retry: { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 1000 }
  - name: drop
    type: file
    directory: ./drop
    createDirectory: true
    fileName: "{messageType}_{controlId}_{messageId}.hl7"
`,
    });
    dropDir = path.join(e.dir, 'drop');
    engine = await startEngine(e);
    client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 10000 });
  });

  afterAll(async () => {
    await client?.close();
    if (engine && engine.child.exitCode === null) await engine.terminate();
    await downstream?.close();
  });

  async function listed(controlId: string): Promise<ListedMessage | undefined> {
    const out = await runCli(['messages', 'list', '--json', '--control-id', controlId], e.env, e.dir);
    if (out.code !== 0) throw new Error(out.stderr);
    return (JSON.parse(out.stdout) as ListedMessage[])[0];
  }

  test('AE twice then AA is delivered on the third attempt; the file lands whole', async () => {
    const text = adt({ controlId: 'E2EFWD1', nhsNumber: NHS_NUMBERS[1] });
    expect(parseAckCode(await client.send(text)).code).toBe('AA');
    const m = await eventually(async () => {
      const x = await listed('E2EFWD1');
      return x?.destinations['adt-fwd.downstream']?.status === 'sent' && x.destinations['adt-fwd.drop']?.status === 'sent' ? x : undefined;
    }, 30000, 'both destinations sent');
    expect(m.destinations['adt-fwd.downstream'].attempts).toBe(3);
    expect(m.destinations['adt-fwd.drop'].attempts).toBe(1);
    const name = `ADT_A01_E2EFWD1_${m.id}.hl7`;
    expect(readdirSync(dropDir)).toContain(name);
    expect(readFileSync(path.join(dropDir, name), 'utf8')).toBe(text);
  });

  test('AR dead-letters with the ACK code in the reason', async () => {
    expect(parseAckCode(await client.send(adt({ controlId: 'E2EAR1' }))).code).toBe('AA');
    const m = await eventually(async () => {
      const x = await listed('E2EAR1');
      return x?.destinations['adt-fwd.downstream']?.status === 'dead-lettered' ? x : undefined;
    }, 30000, 'downstream dead-lettered');
    expect(m.destinations['adt-fwd.downstream']).toMatchObject({ attempts: 1 });
    expect(m.destinations['adt-fwd.downstream'].error).toMatch(/^permanent: DeliveryError: MLLP 127\.0\.0\.1:\d+: ACK AR \(Unsupported event\)$/);
    expect(seen.get('E2EAR1')).toBe(1);
  });
});
