// `tramline dead-letters list|replay|discard` against a real engine process, once with the
// embedded queue and once with RabbitMQ: an HTTP case system answers 400 (permanent), the
// message dead-letters with the reason, the CLI lists it, the case system is fixed, the CLI
// replays it and it is delivered under the same id with its history kept; another dead letter
// is discarded with a reason.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { eventually, killAllEngines, prepareEngine, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { startHttpPeer, type HttpPeer } from '../support/http-peer.js';
import { createTestVhost, type TestVhost } from '../support/rabbit.js';

interface ListedDeadLetter {
  messageId: string;
  channel: string;
  destination: string;
  controlId: string;
  messageType: string;
  reason: string;
  attempts: number;
  deadLetteredAt: string;
}

interface ShownMessage {
  id: string;
  destinations: Record<string, { status: string; attempts: number; error?: string }>;
  events: { event: string; destination?: string; detail?: string }[];
}

const DEST = 'adt-dl.case-api';

describe.each(['embedded', 'rabbitmq'] as const)('tramline dead-letters with the %s queue', (queueKind) => {
  let peer: HttpPeer;
  let vhost: TestVhost | undefined;
  let e: EngineEnv;
  let engine: EngineProcess;
  let client: MllpClient;

  beforeAll(async () => {
    peer = await startHttpPeer();
    await peer.plan({ '/adt': [{ status: 400, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'Unknown ward code' }] } }] });
    let amqp: NodeJS.ProcessEnv = {};
    if (queueKind === 'rabbitmq') {
      vhost = await createTestVhost('dlcli');
      amqp = { TRAMLINE_AMQP_PREFIX: vhost.prefix('dl') };
    }
    e = await prepareEngine({
      amqpUrl: vhost?.url,
      extraEnv: { CASE_API_URL: peer.url, ...amqp },
      channelYaml: (port) => `id: adt-dl
source:
  type: mllp
  host: 127.0.0.1
  port: ${port}
destinations:
  - name: case-api
    type: http
    url: \${CASE_API_URL}/adt
    retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 500 }
`,
    });
    engine = await startEngine(e);
    client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 20_000 });
  }, 200_000);

  afterAll(async () => {
    await client?.close();
    if (engine && engine.child.exitCode === null) await engine.terminate();
    await killAllEngines();
    await peer?.close();
    await vhost?.remove();
  });

  async function cli(...args: string[]): Promise<string> {
    const out = await runCli(args, e.env, e.dir);
    if (out.code !== 0) throw new Error(`tramline ${args.join(' ')} exited ${out.code}: ${out.stderr}`);
    return out.stdout;
  }

  const listed = async (): Promise<ListedDeadLetter[]> => JSON.parse(await cli('dead-letters', 'list', '--destination', DEST, '--json')) as ListedDeadLetter[];
  const shown = async (id: string): Promise<ShownMessage> => JSON.parse(await cli('messages', 'show', id)) as ShownMessage;

  async function sendAndDeadLetter(controlId: string): Promise<ListedDeadLetter> {
    expect(parseAckCode(await client.send(adt({ controlId, nhsNumber: NHS_NUMBERS[1] }))).code).toBe('AA');
    return eventually(async () => (await listed()).find((d) => d.controlId === controlId), 30_000, `${controlId} dead-lettered`);
  }

  test('a 400 dead-letters with its reason; once the case system is fixed, replay delivers it under the same id with its history', async () => {
    const dead = await sendAndDeadLetter(`DL-${queueKind}-1`);
    expect(dead).toMatchObject({ destination: DEST, channel: 'adt-dl', messageType: 'ADT^A01', attempts: 1 });
    expect(dead.reason).toContain('HTTP 400 Bad Request');
    expect(dead.reason).toContain('invalid: Unknown ward code');
    expect(new Date(dead.deadLetteredAt).getTime()).toBeGreaterThan(Date.now() - 60_000);

    const text = await cli('dead-letters', 'list', '--destination', DEST);
    expect(text).toContain(dead.messageId);
    expect(text).toContain('HTTP 400');

    await peer.plan({ '/adt': [{ status: 200 }] });
    expect(await cli('dead-letters', 'replay', '--destination', DEST, dead.messageId)).toContain('1 dead letter(s) replayed');

    const after = await eventually(async () => {
      const m = await shown(dead.messageId);
      return m.destinations[DEST]?.status === 'sent' ? m : undefined;
    }, 30_000, 'replayed message sent');
    expect(after.id).toBe(dead.messageId);
    const events = after.events.map((ev) => ev.event);
    expect(events.indexOf('received')).toBe(0);
    expect(events.indexOf('dead-lettered')).toBeGreaterThan(0);
    expect(events.indexOf('replayed')).toBeGreaterThan(events.indexOf('dead-lettered'));
    expect(after.events.find((ev) => ev.event === 'replayed')).toMatchObject({ destination: DEST });

    // The case system saw the same idempotency key twice: rejected, then accepted.
    const requests = await peer.requests('/adt');
    expect(requests.map((r) => r.status)).toEqual([400, 200]);
    expect(new Set(requests.map((r) => r.headers['idempotency-key']))).toEqual(new Set([dead.messageId]));
    expect(await listed()).toEqual([]);

    // The audit trail tells the same story: dead-lettered, replayed, delivered.
    const audit = JSON.parse(await cli('audit', 'list', '--message-id', dead.messageId, '--json')) as { action: string }[];
    const actions = audit.map((a) => a.action);
    expect(actions.indexOf('message.dead-lettered')).toBeGreaterThanOrEqual(0);
    expect(actions.indexOf('message.replayed')).toBeGreaterThan(actions.indexOf('message.dead-lettered'));
    expect(actions.lastIndexOf('message.delivered')).toBeGreaterThan(actions.indexOf('message.replayed'));
  }, 120_000);

  test('discard removes a dead letter and keeps the reason in its history; unknown ids are reported', async () => {
    await peer.plan({ '/adt': [{ status: 400 }] });
    const dead = await sendAndDeadLetter(`DL-${queueKind}-2`);

    const missing = await runCli(['dead-letters', 'discard', '--destination', DEST, '--reason', 'duplicate of a manual entry', 'no-such-id'], e.env, e.dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no-such-id: not a dead letter');
    expect(await listed()).toHaveLength(1);

    const noReason = await runCli(['dead-letters', 'discard', '--destination', DEST, dead.messageId], e.env, e.dir);
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toContain('--reason');

    expect(await cli('dead-letters', 'discard', '--destination', DEST, '--reason', 'entered manually in the case system', dead.messageId)).toContain('1 dead letter(s) discarded');
    expect(await listed()).toEqual([]);
    const m = await shown(dead.messageId);
    expect(m.destinations[DEST].status).toBe('dead-lettered');
    expect(m.events.find((ev) => ev.event === 'discarded')).toMatchObject({ destination: DEST, detail: expect.stringContaining('entered manually in the case system') });
  }, 120_000);

  test('an unknown destination is refused with the known ones named', async () => {
    const out = await runCli(['dead-letters', 'list', '--destination', 'adt-dl.nowhere'], e.env, e.dir);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`known: ${DEST}`);
  });
});
