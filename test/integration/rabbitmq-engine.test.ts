// The engine over RabbitMQ, end to end through real processes: MLLP in → PostgreSQL store →
// RabbitMQ (quorum queues, confirms) → PostgreSQL case inbox + an HTTP case API.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { dropPg, inboxRows, inboxRowsAtLeast, uniquePgUrl } from '../support/db.js';
import { eventually, killAllEngines, prepareEngine, startEngine, type EngineEnv } from '../support/engine.js';
import { startHttpPeer, type HttpPeer } from '../support/http-peer.js';
import { createTestVhost, type TestVhost } from '../support/rabbit.js';
import { arrivalOrder, rabbitChannelYaml, sendPatients } from '../support/rabbit-engine.js';

describe('engine over RabbitMQ', () => {
  let vhost: TestVhost;
  let peer: HttpPeer;
  const schemas: string[] = [];

  beforeAll(async () => {
    vhost = await createTestVhost('engine');
    peer = await startHttpPeer();
  });

  afterAll(async () => {
    await killAllEngines();
    await peer?.close();
    await vhost?.remove();
    for (const url of schemas) await dropPg(url);
  });

  async function prepare(label: string): Promise<EngineEnv> {
    const dbUrl = uniquePgUrl(`${label}store`);
    const caseDbUrl = uniquePgUrl(`${label}inbox`);
    schemas.push(dbUrl, caseDbUrl);
    await peer.clearRequests();
    return prepareEngine({
      dbUrl,
      caseDbUrl,
      amqpUrl: vhost.url,
      extraEnv: { TRAMLINE_AMQP_PREFIX: vhost.prefix(label) },
      channelYaml: (port) => rabbitChannelYaml(port, caseDbUrl, peer.url),
    });
  }

  // Volume as such is rabbitmq-scale.test.ts's (10,000 through the queue); here 200 patients
  // interleaved on 5 connections, 20 messages each, make order per patient a real question.
  test('4,000 messages from 5 senders reach both destinations exactly once, in order per patient', async () => {
    const e = await prepare('bulk');
    const engine = await startEngine(e);
    const { acked, failed } = await sendPatients(e.mllpPort, { patients: 200, perPatient: 20, senders: 5 });
    expect(failed).toEqual([]);
    expect(acked.size).toBe(4_000);

    const rows = await inboxRowsAtLeast(e.caseDbUrl, 4_000);
    expect(rows).toHaveLength(4_000);
    expect(new Set(rows.map((r) => r.control_id)).size).toBe(4_000);

    const order = await eventually(async () => {
      const o = await arrivalOrder(peer);
      return [...o.values()].reduce((n, l) => n + l.length, 0) >= 4_000 ? o : undefined;
    }, 120_000, '4,000 HTTP deliveries');
    expect(order.size).toBe(200);
    for (const seqs of order.values()) expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await engine.terminate()).toBe(0);
  }, 300_000);

  test('kill -9 of the engine mid-stream: nothing lost, nothing delivered twice', async () => {
    const e = await prepare('kill');
    let engine = await startEngine(e);
    let killed: Promise<void> | undefined;
    const first = await sendPatients(e.mllpPort, { patients: 50, perPatient: 40, senders: 4, onAck: (n) => (n === 300 ? (killed ??= engine.kill9()) : undefined) });
    await killed;
    expect(first.acked.size).toBeGreaterThanOrEqual(300);
    expect(first.acked.size).toBeLessThan(2000);

    engine = await startEngine(e);
    // The senders resend what was never acknowledged, as MLLP senders do.
    const unacked = new Set<string>();
    for (let p = 0; p < 50; p++) for (let s = 0; s < 40; s++) if (!first.acked.has(`P${p}S${s}`)) unacked.add(`P${p}S${s}`);
    const again = await sendPatients(e.mllpPort, { patients: 50, perPatient: 40, senders: 4 });
    expect(again.failed).toEqual([]);
    // Copies published before the kill but never stored are each decided only after
    // DISCARD_AFTER_MS (10 s, channels/stored-after-publish.ts), and a patient's later messages
    // wait behind them in order: the last rows can take two minutes on a busy machine.
    await eventually(async () => (await inboxRows(e.caseDbUrl)).length >= 2000, 240_000, '2,000 inbox rows');
    await new Promise((r) => setTimeout(r, 2000)); // any stray redelivery would show now
    const final = await inboxRows(e.caseDbUrl);
    expect(final).toHaveLength(2000);
    expect(new Set(final.map((r) => r.control_id)).size).toBe(2000);
    expect(unacked.size).toBeGreaterThan(0);
    expect(await engine.terminate()).toBe(0);
  }, 420_000);

  test('two engine processes share one queue load without loss or duplicates', async () => {
    const a = await prepare('pair');
    // The second engine: same store, broker prefix and channel id, its own MLLP port.
    const b = await prepareEngine({
      dbUrl: a.env.TRAMLINE_DB_URL,
      caseDbUrl: a.caseDbUrl,
      amqpUrl: vhost.url,
      extraEnv: { TRAMLINE_AMQP_PREFIX: a.env.TRAMLINE_AMQP_PREFIX, ENGINE_NAME: 'b' },
      channelYaml: (port) => rabbitChannelYaml(port, a.caseDbUrl, peer.url),
    });
    a.env.ENGINE_NAME = 'a';
    // One set of keys for both, as a deployment supplies them: the store refuses an engine with its own.
    const keys = { TRAMLINE_CONTENT_KEY: randomBytes(32).toString('base64'), TRAMLINE_AUDIT_KEY: randomBytes(32).toString('base64') };
    Object.assign(a.env, keys);
    Object.assign(b.env, keys);
    const [ea, eb] = [await startEngine(a), await startEngine(b)];
    const [ra, rb] = await Promise.all([
      sendPatients(a.mllpPort, { patients: 40, perPatient: 25, senders: 2 }),
      sendPatients(b.mllpPort, { patients: 40, perPatient: 25, senders: 2, firstPatient: 1000 }),
    ]);
    expect(ra.acked.size + rb.acked.size).toBe(2000);
    const rows = await inboxRowsAtLeast(a.caseDbUrl, 2000);
    expect(new Set(rows.map((r) => r.control_id)).size).toBe(2000);
    const byEngine = new Map<string, number>();
    await eventually(async () => (await peer.requests('/adt')).filter((r) => r.status === 200).length >= 2000);
    for (const r of await peer.requests('/adt')) byEngine.set(r.headers['x-engine'], (byEngine.get(r.headers['x-engine']) ?? 0) + 1);
    // Both processes delivered part of the load.
    expect(byEngine.get('a') ?? 0).toBeGreaterThan(0);
    expect(byEngine.get('b') ?? 0).toBeGreaterThan(0);
    expect(await ea.terminate()).toBe(0);
    expect(await eb.terminate()).toBe(0);
  }, 300_000);
});
