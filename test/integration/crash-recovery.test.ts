// Nothing lost, nothing twice: kill -9 the engine while messages are flowing, restart it,
// let the sender resend what it never got an ACK for (as real senders do), and every message
// is in the case inbox exactly once.
import { afterAll, describe, expect, test } from '@jest/globals';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { dropPg, inboxRows, inboxRowsAtLeast, uniquePgUrl } from '../support/db.js';
import { killAllEngines, prepareEngine, startEngine } from '../support/engine.js';
import { adt } from '../support/hl7.js';

const TOTAL = 600;
const SENDERS = 4;

const backends = [
  ['sqlite', () => ({})],
  ['postgres', () => ({ dbUrl: uniquePgUrl('crash'), caseDbUrl: uniquePgUrl('crashinbox') })],
] as const;

describe.each(backends)('kill -9 mid-stream (%s store)', (_name, urls) => {
  const { dbUrl, caseDbUrl } = urls() as { dbUrl?: string; caseDbUrl?: string };
  afterAll(async () => {
    await killAllEngines();
    if (dbUrl) await dropPg(dbUrl);
    if (caseDbUrl) await dropPg(caseDbUrl);
  });

  test('every ACKed message is delivered exactly once after a restart', async () => {
    const e = await prepareEngine({ dbUrl, caseDbUrl });
    let engine = await startEngine(e);
    const acked = new Set<string>();
    const ids = Array.from({ length: TOTAL }, (_, i) => `KILL${i}`);
    const clients = Array.from({ length: SENDERS }, () => new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 20000 }));

    // Each sender pipelines its share; the engine is killed right after the 100th AA.
    let killed: Promise<void> | undefined;
    await Promise.all(
      clients.map(async (client, s) => {
        const mine = ids.filter((_, i) => i % SENDERS === s);
        await Promise.all(
          mine.map(async (id, n) => {
            try {
              const ack = parseAckCode(await client.send(adt({ controlId: id, mrn: `P${n % 100}` })));
              if (ack.code === 'AA') acked.add(id);
              if (acked.size === 100) killed ??= engine.kill9();
            } catch {
              // no ACK: the sender will resend after the restart
            }
          }),
        );
      }),
    );
    await killed;
    await Promise.all(clients.map((c) => c.close()));
    expect(acked.size).toBeGreaterThanOrEqual(100);
    expect(acked.size).toBeLessThan(TOTAL); // the kill really landed mid-stream

    engine = await startEngine(e);
    try {
      const resend = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 30000 });
      const unacked = ids.filter((id) => !acked.has(id));
      const acks = await Promise.all(unacked.map((id, n) => resend.send(adt({ controlId: id, mrn: `P${n % 100}` }))));
      expect(acks.map((a) => parseAckCode(a).code)).toEqual(unacked.map(() => 'AA'));
      await resend.close();

      await inboxRowsAtLeast(e.caseDbUrl, TOTAL, 60000);
      // Give any stray redelivery a moment to show itself before counting.
      await new Promise((r) => setTimeout(r, 1500));
      const final = await inboxRows(e.caseDbUrl);
      expect(final).toHaveLength(TOTAL);
      expect(new Set(final.map((r) => r.control_id))).toEqual(new Set(ids));
      expect(new Set(final.map((r) => r.id)).size).toBe(TOTAL);
    } finally {
      expect(await engine.terminate()).toBe(0);
    }
  }, 150000);

  test('SIGTERM mid-stream finishes in-flight messages: each ACK sent is kept and delivered', async () => {
    const e = await prepareEngine({ dbUrl: dbUrl && uniquePgUrl('term'), caseDbUrl: caseDbUrl && uniquePgUrl('terminbox') });
    let engine = await startEngine(e);
    const client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 20000 });
    const ids = Array.from({ length: 200 }, (_, i) => `TERM${i}`);
    const acked: string[] = [];
    let stopped: Promise<number | string> | undefined;
    await Promise.all(
      ids.map(async (id) => {
        try {
          if (parseAckCode(await client.send(adt({ controlId: id }))).code === 'AA') acked.push(id);
          if (acked.length === 50) stopped ??= engine.terminate();
        } catch {
          // not acknowledged: the sender keeps it
        }
      }),
    );
    await client.close();
    expect(await stopped).toBe(0);
    expect(engine.output()).toContain('"msg":"stopped"');
    engine = await startEngine(e);
    try {
      const rows = await inboxRowsAtLeast(e.caseDbUrl, acked.length, 20000);
      const delivered = new Set(rows.map((r) => r.control_id));
      for (const id of acked) expect(delivered.has(id)).toBe(true);
      expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    } finally {
      await engine.terminate();
      if (dbUrl) await dropPg(e.env.TRAMLINE_DB_URL!);
      if (caseDbUrl) await dropPg(e.caseDbUrl);
    }
  }, 60000);
});
