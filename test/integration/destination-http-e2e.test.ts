// End to end through the real engine process with HTTP case-system destinations served by a
// scripted peer process: a 503 run recovers through retries, a 400 dead-letters with its
// reason visible in `tramline messages list`, and the dead letter replays once fixed.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { eventually, prepareEngine, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { startHttpPeer, type HttpPeer } from '../support/http-peer.js';

interface ListedMessage {
  id: string;
  controlId: string;
  destinations: Record<string, { status: string; attempts: number; error?: string }>;
}

describe('engine with HTTP destinations', () => {
  let peer: HttpPeer;
  let e: EngineEnv;
  let engine: EngineProcess;
  let client: MllpClient;

  beforeAll(async () => {
    peer = await startHttpPeer();
    await peer.plan({
      '/recover': [{ status: 503, times: 3, headers: { 'retry-after': '0' } }, { status: 200 }],
      '/reject': [{ status: 400, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'Unknown ward code' }] } }],
    });
    e = await prepareEngine({
      extraEnv: { CASE_API_URL: peer.url, CASE_API_TOKEN: 'e2e-token' },
      channelYaml: (port) => `id: adt-http
source:
  type: mllp
  host: 127.0.0.1
  port: ${port}
destinations:
  - name: recover
    type: http
    url: \${CASE_API_URL}/recover
    auth: { type: bearer, tokenEnv: CASE_API_TOKEN }
    retry: { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 1000 }
  - name: reject
    type: http
    url: \${CASE_API_URL}/reject
    format: hl7
    retry: { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 1000 }
`,
    });
    engine = await startEngine(e);
    client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 10000 });
  });

  afterAll(async () => {
    await client?.close();
    if (engine && engine.child.exitCode === null) await engine.terminate();
    await peer?.close();
  });

  async function listed(controlId: string): Promise<ListedMessage | undefined> {
    const out = await runCli(['messages', 'list', '--json', '--control-id', controlId], e.env, e.dir);
    if (out.code !== 0) throw new Error(out.stderr);
    return (JSON.parse(out.stdout) as ListedMessage[])[0];
  }

  test('503 ×3 recovers through retries; 400 dead-letters with the reason; the dead letter replays once fixed', async () => {
    const ack = parseAckCode(await client.send(adt({ controlId: 'E2EHTTP1', nhsNumber: NHS_NUMBERS[0] })));
    expect(ack).toMatchObject({ code: 'AA', controlId: 'E2EHTTP1' });

    const m = await eventually(
      async () => {
        const x = await listed('E2EHTTP1');
        const d = x?.destinations;
        return d?.['adt-http.recover']?.status === 'sent' && d['adt-http.reject']?.status === 'dead-lettered' ? x : undefined;
      },
      30000,
      'recover sent and reject dead-lettered',
    );
    expect(m.destinations['adt-http.recover']).toMatchObject({ status: 'sent', attempts: 4 });
    const rejected = m.destinations['adt-http.reject'];
    expect(rejected.attempts).toBe(1);
    expect(rejected.error).toContain('HTTP 400 Bad Request');
    expect(rejected.error).toContain('invalid: Unknown ward code');
    expect(rejected.error).toMatch(/^permanent: DeliveryError: POST http:\/\/127\.0\.0\.1:\d+\/reject/);

    const recovered = await peer.requests('/recover');
    expect(recovered.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    expect(new Set(recovered.map((r) => r.headers['idempotency-key']))).toEqual(new Set([m.id]));
    expect(recovered.every((r) => r.headers.authorization === 'Bearer e2e-token')).toBe(true);
    const [hl7Request] = await peer.requests('/reject');
    expect(hl7Request.headers['content-type']).toMatch(/^x-application\/hl7-v2\+er7/);
    expect(Buffer.from(hl7Request.body, 'base64').toString('utf8')).toContain('|E2EHTTP1|');

    // The case system is fixed: reprocessing delivers the dead letter; the other destination
    // gets the same idempotency key again and can ignore it.
    await peer.plan({ '/reject': [{ status: 200 }] });
    const reprocess = await runCli(['messages', 'reprocess', m.id], e.env, e.dir);
    expect(reprocess.code).toBe(0);
    const after = await eventually(
      async () => {
        const x = await listed('E2EHTTP1');
        return x?.destinations['adt-http.reject']?.status === 'sent' ? x : undefined;
      },
      30000,
      'reject sent after reprocess',
    );
    expect(after.id).toBe(m.id);
    const rejectRequests = await peer.requests('/reject');
    expect(rejectRequests.map((r) => r.status)).toEqual([400, 200]);
    expect(new Set(rejectRequests.map((r) => r.headers['idempotency-key']))).toEqual(new Set([m.id]));
    const history = JSON.parse((await runCli(['messages', 'show', m.id], e.env, e.dir)).stdout) as { events: { type?: string; event?: string }[] };
    expect(JSON.stringify(history.events)).toContain('dead-lettered');
    expect(JSON.stringify(history.events)).toContain('reprocessed');
  });
});
