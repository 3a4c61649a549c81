// `npm run bench [name…]`: runs the benchmarks and prints one JSON object per benchmark on
// stdout (machine-readable), progress on stderr. Peers run in the same process on the same
// input, so ratios are comparable; absolute figures depend on the machine.
import os from 'node:os';
import { benchEndToEnd } from './end-to-end.js';
import { benchCldMapping } from './cld-mapping.js';
import { benchHl7Parse } from './hl7-parse.js';
import { benchMapping } from './mapping.js';
import { benchRecordsEndToEnd } from './records-end-to-end.js';

const benches: Record<string, () => Promise<unknown>> = {
  'hl7-parse': () => benchHl7Parse(),
  'adt-mapping': () => benchMapping(),
  'cld-mapping': () => benchCldMapping(),
  'records-end-to-end': () => benchRecordsEndToEnd(),
  'end-to-end': () => benchEndToEnd(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !(n in benches));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}

const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, platform: process.platform };
for (const name of wanted.length ? wanted : Object.keys(benches)) {
  console.error(`bench: ${name}…`);
  const started = Date.now();
  const result = await benches[name]();
  console.log(JSON.stringify({ bench: name, at: new Date().toISOString(), durationMs: Date.now() - started, machine, result }));
}
