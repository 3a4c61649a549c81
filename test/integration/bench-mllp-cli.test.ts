// `tramline bench mllp` against a real engine started here (SQLite store, embedded queue, ADT →
// case-inbox channel): every message sent is ACKed, stored and delivered, and the store figures
// come from the engine's admin API. Counts only — timings belong to benchmarks.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Command } from 'commander';
import { isValidNhsNumber } from '../../mappings/functions/nhs-number.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { benchMllp, registerBenchCommand, type BenchMllpOptions } from '../../server/cli/commands/bench.js';
import { syntheticAdt } from '../../server/bench/synthetic-adt.js';
import { freePort } from '../support/engine.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';

let engine: ApiEngine;

beforeAll(async () => {
  engine = await startApiEngine();
}, 60_000);

afterAll(async () => {
  await engine?.close();
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

function options(over: Partial<BenchMllpOptions> = {}): BenchMllpOptions {
  return {
    host: '127.0.0.1',
    port: engine.mllpPort,
    connections: 2,
    inFlight: 4,
    rate: 0,
    duration: 2,
    warmup: 0.3,
    size: 'realistic',
    timeout: 10_000,
    api: engine.base,
    token: engine.tokens.operator,
    drainTimeout: 60,
    json: true,
    ...over,
  };
}

describe('synthetic ADT', () => {
  test('each message names its own person with a valid test-range NHS number', () => {
    const nhs = new Set<string>();
    for (let person = 0; person < 200; person++) {
      const m = parseHl7(syntheticAdt(`C${person}`, person));
      const id = m.get('PID-3.1') ?? '';
      expect(id).toMatch(/^999\d{7}$/);
      expect(isValidNhsNumber(id)).toBe(true);
      expect(m.get('PID-3.4')).toBe('NHS');
      expect(m.get('MSH-10')).toBe(`C${person}`);
      expect(['A01', 'A08', 'A03']).toContain(m.get('MSH-9.2'));
      nhs.add(id);
    }
    expect(nhs.size).toBe(200);
  });

  test('realistic messages carry the vendor segments; small ones only what routing needs', () => {
    const realistic = syntheticAdt('R1', 7);
    expect(realistic.split('\r').map((s) => s.slice(0, 3))).toEqual(['MSH', 'EVN', 'PID', 'PD1', 'NK1', 'PV1', 'PV2', 'AL1', 'DG1', 'OBX', 'ROL']);
    expect(Buffer.byteLength(realistic)).toBeGreaterThan(850);
    expect(Buffer.byteLength(realistic)).toBeLessThan(1000);
    expect(syntheticAdt('S1', 7, 'small').split('\r').map((s) => s.slice(0, 3))).toEqual(['MSH', 'EVN', 'PID', 'PV1']);
  });
});

describe('tramline bench mllp', () => {
  test('pipelined: every message sent is ACKed, persisted and delivered (read back from the store)', async () => {
    const { out, io } = capture();
    const code = await benchMllp(options(), io);
    expect(out).toHaveLength(1);
    const r = JSON.parse(out[0]);
    expect(code).toBe(0);
    expect(r.sent).toBeGreaterThan(0);
    expect(r.acks).toEqual({ CA: r.sent });
    expect(r.failures).toEqual({});
    expect(r.notSent).toBe(0);
    expect(r.latencyMs.sendToAck.n).toBe(r.sent);
    expect(r.settings).toMatchObject({ connections: 2, inFlight: 4, rate: 0, size: 'realistic' });
    expect(r.store.persisted).toBe(r.sent);
    expect(r.store.delivered).toBe(r.sent);
    expect(r.store.notDelivered).toEqual({});
    expect(r.store.latencyMs.sendToDelivered.n).toBe(r.sent);
    expect(Object.keys(r.store.destinations)).toEqual(['adt-in.inbox']);
    expect(r.store.destinations['adt-in.inbox'].sent).toBe(r.sent);
    // A delivery retried (e.g. the inbox database busy) still counts once.
    expect(r.store.destinations['adt-in.inbox'].retried).toBeLessThanOrEqual(r.sent);
    expect(r.store.destinations['adt-in.inbox'].sendToSentMs.n).toBe(r.sent);
    // The measured messages (and the warm-up's) are in the store under the run's tag.
    // Paged (newest first, 1,000 at most a page): a faster engine takes more in the run's seconds.
    const seen = new Map<string, { controlId: string; status: string }>();
    for (let to = ''; ; ) {
      const listed = await engine.call('GET', `/api/messages?channel=adt-in&limit=1000${to}`, { token: engine.tokens.operator });
      const page = listed.body.messages as { id: string; controlId: string; status: string; receivedAt: string }[];
      const before = seen.size;
      for (const m of page) seen.set(m.id, m);
      if (page.length < 1000 || seen.size === before) break;
      // `to` is exclusive: the oldest millisecond is read again, and its messages skipped as seen.
      to = `&to=${encodeURIComponent(new Date(Date.parse(page[page.length - 1].receivedAt) + 1).toISOString())}`;
    }
    const ours = [...seen.values()].filter((m) => m.controlId.startsWith(`${r.runTag}M`));
    expect(ours).toHaveLength(r.sent);
    expect(ours.every((m) => m.status === 'sent')).toBe(true);
  }, 90_000);

  test('fixed rate, original mode: the messages due are sent (or counted as not sent), in text form', async () => {
    const { out, err, io } = capture();
    const code = await benchMllp(options({ connections: 1, inFlight: 1, rate: 20, duration: 1, warmup: 0, size: 'small', json: false }), io);
    expect(code).toBe(0);
    // Progress on stderr: the phase, then (while deliveries are still running) the store's count.
    expect(err[0]).toBe('bench: measuring: 1 s');
    for (const l of err.slice(1)) expect(l).toMatch(/^bench: store: \d+\/\d+ messages settled$/);
    const line = (label: string) => out.find((l) => l.startsWith(label));
    expect(out[0]).toMatch(/^MLLP 127\.0\.0\.1:\d+: 1 connection\(s\), 1 in flight each, 20 msg\/s offered, [\d.]+ s, \d+-byte ADT \(small\)$/);
    const sent = Number(line('sent')!.split(/\s+/)[1]);
    // 20 fall due in the second; any the engine was too slow to take are counted, not sent.
    const notSent = Number(/^not sent +(\d+)/.exec(line('not sent') ?? 'not sent 0')![1]);
    expect(sent + notSent).toBe(20);
    expect(line('ACKs')).toBe(`ACKs         CA ${sent}`);
    expect(line('persisted')).toMatch(new RegExp(`^persisted    ${sent} \\(\\d+/s, from the store\\)$`));
    expect(line('delivered')).toMatch(new RegExp(`^delivered    ${sent} \\(`));
    expect(out.find((l) => l.startsWith('  adt-in.inbox: '))).toMatch(new RegExp(`^  adt-in\\.inbox: ${sent} sent( \\(\\d+ after a retry\\))?; send→sent p50 `));
    expect(line('send→ACK')).toMatch(/^send→ACK {5}p50 [\d.]+ {2}p90 [\d.]+ {2}p99 [\d.]+ {2}max [\d.]+ ms$/);
  }, 60_000);

  test('without a token: the sender figures, and how to get the store ones', async () => {
    const { out, io } = capture();
    const saved = process.env.TRAMLINE_TOKEN;
    delete process.env.TRAMLINE_TOKEN;
    try {
      const code = await benchMllp(options({ token: undefined, duration: 0.3, warmup: 0, json: false }), io);
      expect(code).toBe(0);
    } finally {
      if (saved !== undefined) process.env.TRAMLINE_TOKEN = saved;
    }
    expect(out.at(-1)).toBe('persisted/s and send→delivered: give an API token (--token or TRAMLINE_TOKEN, role operator) to read them from the store');
    expect(out.some((l) => l.startsWith('persisted '))).toBe(false);
  }, 30_000);

  test('nothing listening: one clear line, exit code 1', async () => {
    const port = await freePort();
    const { out, err, io } = capture();
    expect(await benchMllp(options({ port }), io)).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([`tramline bench: cannot connect to MLLP 127.0.0.1:${port}: ECONNREFUSED (is the engine running, and is this its MLLP port?)`]);
  });

  test('a refused token and a token without messages:read are named, not thrown', async () => {
    for (const [token, expected] of [
      ['tl_not-a-token', `tramline bench: the admin API at ${engine.base} refused the token (401): give a valid API token with --token or TRAMLINE_TOKEN`],
      [engine.tokens.clinician, 'tramline bench: the token may not read messages or channel counts (403): it needs messages:read and channels:read, e.g. `tramline tokens create --name bench --role operator`'],
    ]) {
      const { err, io } = capture();
      expect(await benchMllp(options({ token, duration: 0.2, warmup: 0 }), io)).toBe(1);
      expect(err.at(-1)).toBe(expected);
    }
  }, 30_000);

  test('an unreachable admin API is named', async () => {
    const port = await freePort();
    const { err, io } = capture();
    expect(await benchMllp(options({ api: `http://127.0.0.1:${port}`, duration: 0.2, warmup: 0 }), io)).toBe(1);
    expect(err.at(-1)).toBe(`tramline bench: cannot reach the admin API at http://127.0.0.1:${port}: ECONNREFUSED (set --api to the engine's HTTP address)`);
  }, 30_000);

  test('options are checked before anything is sent', async () => {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    registerBenchCommand(program).commands.forEach((c) => c.exitOverride());
    const run = (...args: string[]) => program.parseAsync(['node', 'tramline', 'bench', 'mllp', '--host', '127.0.0.1', '--port', '1', ...args]);
    await expect(run('--in-flight', '0')).rejects.toThrow('--in-flight must be a whole number from 1 to 10000');
    await expect(run('--rate', '-5')).rejects.toThrow('--rate must be a whole number from 0 to 1000000');
    await expect(run('--size', 'huge')).rejects.toThrow("Allowed choices are realistic, small");
    await expect(run('--duration', 'soon')).rejects.toThrow('--duration must be a number of seconds from 0.1 to 86400');
  });
});
