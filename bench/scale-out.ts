// Scale-out on PostgreSQL + RabbitMQ: 1, 2, … engine processes (`tramline start` on the shipped
// example channels, default settings) share one store schema, one case-inbox schema and one
// vhost; each has its own MLLP port and gets the same pipelined load of realistic ADT. For each
// process count it reports what all engines together ACKed, persisted and delivered per second,
// and the CPU each part spent per message (every engine, PostgreSQL, RabbitMQ, the load
// generator), from which it models what a machine with more cores would give (see
// docs/performance.md, "Scale-out"). Ceilings measured in the same run: one PostgreSQL
// connection's commits/s and a quorum queue's confirms/s.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { runMllpLoad, type MllpLoadResult } from '../server/bench/mllp-load.js';
import { readBackFromStore, type StoreReadback } from '../server/bench/store-readback.js';
import { cpuMs, machineBusyMs } from './end-to-end.js';
import { Cleanups, operatorToken, prepareBackend, startFhirStandIn, startShippedEngine, type Ceilings } from './mllp.js';

const seconds = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

interface Step {
  processes: number;
  /** Summed over every engine's load. */
  ackPerSec: number;
  persistedPerSec: number;
  deliveredPerSec: number;
  /** Messages that got no AA (any engine). */
  notAccepted: number;
  notDelivered: number;
  perEngineAckPerSec: number[];
  sendToAckP99Ms: number;
  sendToDeliveredP99Ms: number;
  /**
   * CPU ms per message from the first send until every delivery settled: engines (all together,
   * and each per message it took), PostgreSQL, RabbitMQ, this process (load generator and the
   * store read-back), the whole machine. The read-back's API calls are in the engines' figure too.
   */
  cpuMsPerMessage: { engines: number; perEngine: number[]; postgres: number; rabbitmq: number; loadGenerator: number; machineAll: number };
  /** Share of the machine's cores busy during the measured phase (1 = every core all the time). */
  machineBusy: number;
}

const round = (x: number, places = 3) => Math.round(x * 10 ** places) / 10 ** places;

async function measure(processes: number, load: { connections: number; inFlight: number; durationS: number; warmupS: number }): Promise<{ step: Step; ceilings: Ceilings }> {
  const cleanups = new Cleanups();
  const engines: Awaited<ReturnType<typeof startShippedEngine>>[] = [];
  try {
    const backend = await prepareBackend('postgres-rabbitmq', cleanups);
    // One set of keys for every engine on the store, as a deployment supplies them (docs/security.md, "Keys").
    backend.env.TRAMLINE_LPRES_URL = await startFhirStandIn(cleanups);
    Object.assign(backend.env, { TRAMLINE_CONTENT_KEY: randomBytes(32).toString('base64'), TRAMLINE_AUDIT_KEY: randomBytes(32).toString('base64') });
    // One at a time: the first runs the migrations the others then find done.
    for (let k = 0; k < processes; k++) engines.push(await startShippedEngine(backend.env, cleanups));
    const token = await operatorToken(engines[0].env, engines[0].dir);
    const pids = engines.map((e) => e.engine.child.pid!);
    const take = () => ({ engines: pids.map((p) => cpuMs(p)), postgres: cpuMs(['postgres']), rabbitmq: cpuMs(['beam.smp']), self: process.cpuUsage(), machine: machineBusyMs(), at: performance.now() });
    console.error(`scale-out: ${processes} engine process(es), ${load.connections} connection(s) × ${load.inFlight} in flight each`);
    // Warm-up first, apart: the CPU window below then holds the measured messages only, from the
    // first send until the last delivery settled (deliveries to the shared care record lag).
    const tag = `TS${Date.now().toString(36).slice(-5).toUpperCase()}`;
    const each = (k: number, runTag: string, firstPerson: number, durationS: number) =>
      runMllpLoad({ host: '127.0.0.1', port: engines[k].mllpPort, size: 'realistic', timeoutMs: 120_000, rate: 0, connections: load.connections, inFlight: load.inFlight, durationS, warmupS: 0, runTag, firstPerson, progress: (l) => console.error(`  engine ${k}: ${l}`) });
    if (load.warmupS > 0) await Promise.all(engines.map((_, k) => each(k, `${tag}W${k}`, k * 200_000 + 100_000, load.warmupS)));
    const before = take();
    const results: MllpLoadResult[] = await Promise.all(engines.map((_, k) => each(k, `${tag}E${k}`, k * 200_000, load.durationS)));
    console.error('  reading back from the store');
    const stored: StoreReadback[] = await Promise.all(
      results.map((r, k) => readBackFromStore({ api: `http://127.0.0.1:${engines[k].httpPort}`, token, runTag: r.runTag, messages: r.messages, drainTimeoutMs: seconds('BENCH_MLLP_DRAIN_SECONDS', 120) * 1000 })),
    );
    const after = take();
    const sent = results.reduce((n, r) => n + r.sent, 0);
    const per = (ms: number) => round(ms / sent);
    const sum = (f: (x: StoreReadback) => number) => stored.reduce((n, s) => n + f(s), 0);
    const selfMs = (after.self.user - before.self.user + after.self.system - before.self.system) / 1000;
    const step: Step = {
      processes,
      ackPerSec: results.reduce((n, r) => n + r.ackPerSec, 0),
      persistedPerSec: sum((s) => s.persistedPerSec),
      deliveredPerSec: sum((s) => s.deliveredPerSec),
      notAccepted: results.reduce((n, r) => n + r.sent - (r.acks.AA ?? 0) - (r.acks.CA ?? 0), 0),
      notDelivered: sum((s) => Object.values(s.notDelivered).reduce((a, b) => a + b, 0)),
      perEngineAckPerSec: results.map((r) => r.ackPerSec),
      sendToAckP99Ms: Math.max(...results.map((r) => r.latencyMs.sendToAck.p99)),
      sendToDeliveredP99Ms: Math.max(...stored.map((s) => s.latencyMs.sendToDelivered.p99)),
      cpuMsPerMessage: {
        engines: per(after.engines.reduce((a, b) => a + b, 0) - before.engines.reduce((a, b) => a + b, 0)),
        perEngine: after.engines.map((ms, k) => round((ms - before.engines[k]) / results[k].sent)),
        postgres: per(after.postgres - before.postgres),
        rabbitmq: per(after.rabbitmq - before.rabbitmq),
        loadGenerator: per(selfMs),
        machineAll: per(after.machine - before.machine),
      },
      machineBusy: round((after.machine - before.machine) / ((after.at - before.at) * os.cpus().length), 2),
    };
    return { step, ceilings: backend.ceilings };
  } catch (err) {
    for (const [k, e] of engines.entries()) console.error(`engine ${k}:\n${e.engine.tail().slice(-4000)}`);
    throw err;
  } finally {
    await cleanups.run();
  }
}

/**
 * What `cores` would give, from the CPU one message costs each part: the engines, PostgreSQL and
 * RabbitMQ share the cores (the load generator is assumed to run elsewhere), each engine process
 * can use about one core (its event loop), and the broker's own ceilings (one quorum queue's
 * confirms per partition, PostgreSQL commits) are not modelled beyond the measured figures.
 */
export function modelThroughput(cpu: Step['cpuMsPerMessage'], cores: number): { msgPerSec: number; engineProcesses: number } {
  const serverMs = cpu.engines + cpu.postgres + cpu.rabbitmq;
  const msgPerSec = Math.round((cores * 1000) / serverMs);
  // An engine at ~80% of a core leaves room for bursts and its own garbage collection.
  const engineProcesses = Math.max(1, Math.ceil((msgPerSec * cpu.engines) / 1000 / 0.8));
  return { msgPerSec, engineProcesses };
}

export async function benchScaleOut(): Promise<object> {
  const counts = (process.env.BENCH_SCALE_PROCESSES ?? '1,2').split(',').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('BENCH_SCALE_PROCESSES: a comma list of process counts, e.g. 1,2,3');
  const load = { connections: seconds('BENCH_SCALE_CONNECTIONS', 2), inFlight: seconds('BENCH_SCALE_IN_FLIGHT', 64), durationS: seconds('BENCH_MLLP_SECONDS', 20), warmupS: seconds('BENCH_MLLP_WARMUP', 3) };
  const steps: Step[] = [];
  let ceilings: Ceilings = {};
  for (const n of counts) {
    const measured = await measure(n, load);
    steps.push(measured.step);
    ceilings = measured.ceilings;
  }
  const one = steps.find((s) => s.processes === 1) ?? steps[0];
  // The model uses the one-process CPU costs: extra processes on the same cores only add contention.
  const model = Object.fromEntries([2, 8, 32].map((cores) => [`${cores}Cores`, modelThroughput(one.cpuMsPerMessage, cores)]));
  return {
    pipeline: 'MLLP → PostgreSQL store → RabbitMQ quorum queues → case inbox (PostgreSQL) + ADT mapped to FHIR, posted to a stand-in shared care record; N engine processes sharing them',
    channel: 'channels/examples (default settings)',
    loadPerEngine: load,
    cores: os.cpus().length,
    ceilings,
    steps: steps.map((s) => ({ ...s, deliveredPerSecToOneProcess: round(s.deliveredPerSec / one.deliveredPerSec, 2) })),
    model,
    loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
  };
}
