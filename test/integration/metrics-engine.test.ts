// /metrics on a real in-process engine: per-channel counters exist from the start and move
// as messages flow (received, filtered, queued, sent, errored, dead-lettered), with the
// delivery latency histogram, queue depth gauges and process metrics.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import net from 'node:net';
import { eventually } from '../support/engine.js';
import { adt } from '../support/hl7.js';
import { refuseFailRows, startApiEngine, type ApiEngine } from './api-engine.js';

let e: ApiEngine;

beforeAll(async () => {
  e = await startApiEngine();
});

afterAll(async () => {
  await e?.close();
});

async function scrape(): Promise<string> {
  const res = await e.call('GET', '/metrics', { token: e.tokens.operator });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text;
}

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  if (!line) throw new Error(`no series ${series}`);
  return Number(line.slice(series.length + 1));
}

test('counters start at zero and move when messages flow', async () => {
  const before = await scrape();
  expect(value(before, 'tramline_messages_received_total{channel="adt-in"}')).toBe(0);
  expect(value(before, 'tramline_messages_sent_total{channel="adt-in",destination="adt-in.inbox"}')).toBe(0);
  expect(value(before, 'tramline_queue_depth{destination="adt-in.inbox"}')).toBe(0);
  expect(before).toContain('tramline_process_cpu_user_seconds_total');
  expect(before).toContain('tramline_nodejs_heap_size_used_bytes');

  await e.mllp.send(adt({ controlId: 'MET0001' }));
  await e.mllp.send(adt({ controlId: 'MET0002' }));
  await e.mllp.send(adt({ controlId: 'MET0002' })); // duplicate
  await e.mllp.send(adt({ controlId: 'MET0003' }).replace('ADT^A01^ADT_A01', 'ORU^R01^ORU_R01')); // filtered by the channel
  const after = await eventually(async () => {
    const text = await scrape();
    return value(text, 'tramline_messages_sent_total{channel="adt-in",destination="adt-in.inbox"}') === 2 ? text : undefined;
  });
  expect(value(after, 'tramline_messages_received_total{channel="adt-in"}')).toBe(3);
  expect(value(after, 'tramline_messages_duplicate_total{channel="adt-in"}')).toBe(1);
  expect(value(after, 'tramline_messages_filtered_total{channel="adt-in",destination=""}')).toBe(1);
  expect(value(after, 'tramline_messages_queued_total{channel="adt-in"}')).toBe(2);
  expect(value(after, 'tramline_delivery_latency_seconds_count{channel="adt-in",destination="adt-in.inbox"}')).toBe(2);

  await refuseFailRows(e.caseDbUrl);
  await e.mllp.send(adt({ controlId: 'FAILMET1' }));
  const failed = await eventually(async () => {
    const text = await scrape();
    return value(text, 'tramline_messages_dead_lettered_total{channel="adt-in",destination="adt-in.inbox"}') === 1 ? text : undefined;
  });
  expect(value(failed, 'tramline_messages_errored_total{channel="adt-in",destination="adt-in.inbox"}')).toBe(1);
  expect(value(failed, 'tramline_messages_sent_total{channel="adt-in",destination="adt-in.inbox"}')).toBe(2);
});

test('metrics carry no patient data', async () => {
  await e.mllp.send(adt({ controlId: 'MET0009', nhsNumber: '9912003888', family: 'PRIVATEFAMILY' }));
  await eventually(async () => value(await scrape(), 'tramline_messages_received_total{channel="adt-in"}') === 5);
  const text = await scrape();
  expect(text).not.toContain('9912003888');
  expect(text).not.toContain('PRIVATEFAMILY');
});

test('MLLP connections beyond the listener\'s cap (default 200) are counted as refused', async () => {
  expect(value(await scrape(), 'tramline_mllp_connections_refused_total{channel="adt-in"}')).toBe(0);
  const sockets = await Promise.all(
    Array.from({ length: 210 }, () => new Promise<net.Socket>((resolve) => {
      const s = net.connect(e.mllpPort, '127.0.0.1');
      s.on('error', () => undefined);
      s.once('connect', () => resolve(s)).once('close', () => resolve(s));
    })),
  );
  try {
    // 210 new plus the test's own client: at least 10 over the cap.
    await eventually(async () => value(await scrape(), 'tramline_mllp_connections_refused_total{channel="adt-in"}') >= 10);
  } finally {
    for (const s of sockets) s.destroy();
  }
});
