// `tramline bench mllp`: load an engine's MLLP port with invented ADT and print what it did —
// ACK/s and send→ACK latency as the sender saw them and, with an API token, persisted/s and
// send→delivered read back from the engine's store. Works against any Tramline engine.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { MllpLoadResult } from '../../bench/mllp-load.js';
import type { StoreReadback } from '../../bench/store-readback.js';
import type { LatencySummary } from '../../bench/stats.js';
import type { AdtSize } from '../../bench/synthetic-adt.js';

export interface BenchMllpOptions {
  host: string;
  port: number;
  connections: number;
  inFlight: number;
  rate: number;
  duration: number;
  warmup: number;
  size: AdtSize;
  timeout: number;
  api?: string;
  token?: string;
  drainTimeout: number;
  json?: boolean;
}

export interface Output {
  log: (line: string) => void;
  error: (line: string) => void;
}

function wholeNumber(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

function seconds(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > 86_400) throw new InvalidArgumentError(`${name} must be a number of seconds from ${min} to 86400`);
    return n;
  };
}

const ms = (l: LatencySummary) => `p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  max ${l.max} ms`;

function lines(load: MllpLoadResult, store: StoreReadback | undefined, storeNote: string | undefined): string[] {
  const s = load.settings;
  const mode = s.rate > 0 ? `${s.rate} msg/s offered` : 'as fast as ACKs come back';
  const out = [
    `MLLP ${s.host}:${s.port}: ${s.connections} connection(s), ${s.inFlight} in flight each, ${mode}, ${load.seconds} s, ${s.messageBytes}-byte ADT (${s.size})`,
    `sent         ${load.sent}`,
    `ACKs         ${Object.entries(load.acks).map(([code, n]) => `${code} ${n}`).join(', ') || 'none'}`,
    `ACK/s        ${load.ackPerSec}`,
    `send→ACK     ${ms(load.latencyMs.sendToAck)}`,
  ];
  for (const [reason, n] of Object.entries(load.failures)) out.push(`no ACK       ${n}: ${reason}`);
  if (load.notSent) out.push(`not sent     ${load.notSent} (due at the offered rate, but every connection was still waiting for ACKs)`);
  if (store) {
    out.push(`persisted    ${store.persisted} (${store.persistedPerSec}/s, from the store)`);
    out.push(`delivered    ${store.delivered} (${store.deliveredPerSec}/s; settled ${store.drainSeconds} s after the last ACK)`);
    for (const [status, n] of Object.entries(store.notDelivered)) out.push(`undelivered  ${n} ${status}`);
    out.push(`send→deliv.  ${ms(store.latencyMs.sendToDelivered)}`);
    for (const [name, d] of Object.entries(store.destinations)) {
      out.push(`  ${name}: ${d.sent} sent${d.retried ? ` (${d.retried} after a retry)` : ''}; send→sent ${ms(d.sendToSentMs)}`);
    }
  } else if (storeNote) out.push(storeNote);
  return out;
}

/** Run the benchmark; returns the process exit code (1 when a message was refused or lost). */
export async function benchMllp(o: BenchMllpOptions, out: Output = { log: console.log, error: console.error }): Promise<number> {
  // Loaded here, not at CLI start: only this command needs them.
  const { BenchError, runMllpLoad } = await import('../../bench/mllp-load.js');
  const { readBackFromStore } = await import('../../bench/store-readback.js');
  try {
    const load = await runMllpLoad({
      host: o.host,
      port: o.port,
      connections: o.connections,
      inFlight: o.inFlight,
      rate: o.rate,
      durationS: o.duration,
      warmupS: o.warmup,
      size: o.size,
      timeoutMs: o.timeout,
      progress: (l) => out.error(`bench: ${l}`),
    });
    const token = o.token ?? process.env.TRAMLINE_TOKEN;
    const api = o.api ?? `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:8080`;
    let store: StoreReadback | undefined;
    let storeNote: string | undefined;
    if (!token) storeNote = 'persisted/s and send→delivered: give an API token (--token or TRAMLINE_TOKEN, role operator) to read them from the store';
    else if (load.sent) store = await readBackFromStore({ api, token, runTag: load.runTag, messages: load.messages, drainTimeoutMs: o.drainTimeout * 1000, progress: (l) => out.error(`bench: ${l}`) });
    const { messages: _messages, ...summary } = load;
    if (o.json) out.log(JSON.stringify({ ...summary, ...(store ? { store } : {}) }));
    else for (const line of lines(load, store, storeNote)) out.log(line);
    const refused = Object.entries(load.acks).some(([code, n]) => n > 0 && code !== 'AA' && code !== 'CA');
    const lost = Object.keys(load.failures).length > 0 || (store !== undefined && store.persisted < load.sent);
    return refused || lost || load.sent === 0 ? 1 : 0;
  } catch (err) {
    if (!(err instanceof BenchError)) throw err;
    out.error(`tramline bench: ${err.message}`);
    return 1;
  }
}

export function registerBenchCommand(program: Command): Command {
  const bench = program.command('bench').description('measure a running engine (see docs/performance.md)');
  bench
    .command('mllp')
    .description('send invented ADT (a new person in each message) to an MLLP port; print ACK/s, persisted/s and latency')
    .requiredOption('--host <host>', 'MLLP host')
    .requiredOption('--port <port>', 'MLLP port', wholeNumber('--port', 1, 65535))
    .option('--connections <n>', 'MLLP connections', wholeNumber('--connections', 1, 1000), 1)
    .option('--in-flight <k>', 'messages awaiting their ACK on each connection (1 = send, wait for the ACK, send)', wholeNumber('--in-flight', 1, 10_000), 1)
    .option('--rate <r>', 'messages per second offered across all connections, on a fixed schedule (0 = as fast as ACKs come back)', wholeNumber('--rate', 0, 1_000_000), 0)
    .option('--duration <s>', 'seconds measured', seconds('--duration', 0.1), 30)
    .option('--warmup <s>', 'seconds sent first and not counted', seconds('--warmup', 0), 5)
    .addOption(new Option('--size <size>', 'message shape: realistic (~950-byte vendor ADT) or small (~300 bytes)').choices(['realistic', 'small'] satisfies AdtSize[]).default('realistic'))
    .option('--timeout <ms>', 'longest wait for one ACK', wholeNumber('--timeout', 1, 3_600_000), 30_000)
    .option('--api <url>', "the engine's admin API, for the store figures (default http://<host>:8080)")
    .option('--token <token>', 'API token with messages:read (e.g. role operator); default TRAMLINE_TOKEN')
    .option('--drain-timeout <s>', 'longest wait after the last ACK for deliveries to finish', seconds('--drain-timeout', 0), 120)
    .option('--json', 'print one JSON object')
    .action(async (opts: BenchMllpOptions) => {
      process.exitCode = await benchMllp(opts);
    });
  return bench;
}
