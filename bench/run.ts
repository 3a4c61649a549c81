// `npm run bench [name…]`: runs the benchmarks and prints one JSON object per benchmark on
// stdout (machine-readable), progress on stderr. Peers run in the same process on the same
// input, so ratios are comparable; absolute figures depend on the machine.
//
// Each benchmark runs in a process of its own and imports only its own modules: a peer
// library loaded by one benchmark (the `hl7v2` package's dictionary alone is ~26 MB of heap)
// would otherwise slow the garbage collector, and so the figures, of every other one.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const benches: Record<string, () => Promise<unknown>> = {
  'hl7-parse': async () => (await import('./hl7-parse.js')).benchHl7Parse(),
  'adt-mapping': async () => (await import('./mapping.js')).benchMapping(),
  'cld-mapping': async () => (await import('./cld-mapping.js')).benchCldMapping(),
  'records-end-to-end': async () => (await import('./records-end-to-end.js')).benchRecordsEndToEnd(),
  'end-to-end': async () => (await import('./end-to-end.js')).benchEndToEnd(),
  'viewer-record': async () => (await import('./viewer-record.js')).benchViewerRecord(),
  'message-search': async () => (await import('./message-search.js')).benchMessageSearch(),
  'fhir-sandbox': async () => (await import('./fhir-sandbox.js')).benchFhirSandbox(),
  'mllp-latency': async () => (await import('./mllp-latency.js')).benchMllpLatency(),
  'mllp-sync-1': async () => (await import('./mllp.js')).benchMllpScenario('mllp-sync-1'),
  'mllp-sync-16': async () => (await import('./mllp.js')).benchMllpScenario('mllp-sync-16'),
  'mllp-pipelined': async () => (await import('./mllp.js')).benchMllpScenario('mllp-pipelined'),
  'mllp-steady': async () => (await import('./mllp.js')).benchMllpScenario('mllp-steady'),
  'scale-out': async () => (await import('./scale-out.js')).benchScaleOut(),
  primitives: async () => (await import('./primitives.js')).benchPrimitives(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !(n in benches));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}

const names = wanted.length ? wanted : Object.keys(benches);
if (names.length === 1) {
  const [name] = names;
  const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, platform: process.platform };
  console.error(`bench: ${name}…`);
  const started = Date.now();
  const result = await benches[name]();
  console.log(JSON.stringify({ bench: name, at: new Date().toISOString(), durationMs: Date.now() - started, machine, result }));
} else {
  const self = fileURLToPath(import.meta.url);
  let failed = 0;
  for (const name of names) {
    const child = spawnSync(process.execPath, [...process.execArgv, self, name], { stdio: 'inherit' });
    if (child.status !== 0) {
      failed++;
      console.error(`bench: ${name} failed (exit ${child.status ?? child.signal})`);
    }
  }
  process.exit(failed ? 1 : 0);
}
