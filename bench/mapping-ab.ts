// Two builds' parse + map + validate in one process, compared slice by slice: for a change
// to the mapping pipeline measured on a machine shared with other work. Separate benchmark
// runs of the two builds meet different loads (the CPU time a message takes moved ±50%
// between runs here under a load average of 10), while two builds alternating 250 ms slices
// in one process meet the same.
//
//   npm run build && cp -r dist /tmp/base      # before the change
//   npm run build && node dist/bench/mapping-ab.js /tmp/base dist [pairs] [sliceMs] [shipped|realistic]
//
// Prints CPU µs a message for each build (median and best slice) and B's time ÷ A's, per
// pair (median) and best against best. Run it in both orders (A, B and B, A): the build
// loaded second can gain or lose a few percent from its place alone; a change is real when it
// shows in both orders by more than two copies of one build differ (try A against a copy of A).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REALISTIC_ADT_MESSAGES } from './adt-realistic.js';
import { benchAdtCases } from './adt-cases.js';
import { distinctPatients } from './adt-variants.js';

type Step = (text: string) => number;

/** The whole pipeline of the build in `dist`, from its own modules. */
async function pipelineOf(dist: string): Promise<Step> {
  const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(resolve(dist, path)).href)) as T;
  const { parseHl7 } = await load<typeof import('../adapters/hl7v2/parse.js')>('adapters/hl7v2/parse.js');
  const { hl7Input } = await load<typeof import('../mappings/engine/hl7-input.js')>('mappings/engine/hl7-input.js');
  const { DEFAULT_ADT_MAPPING, loadMappingById } = await load<typeof import('../mappings/index.js')>('mappings/index.js');
  const { fhirIssues } = await load<typeof import('../mappings/validate/index.js')>('mappings/validate/index.js');
  const mapping = loadMappingById(DEFAULT_ADT_MAPPING);
  // The planned check's proof (fhirR4Checked) where the build has one; older builds check whole.
  return (t) => {
    const result = mapping.run(hl7Input(parseHl7(t))) as { output: unknown; fhirR4Checked?: { references: readonly string[] } };
    return fhirIssues(result.output, undefined, result.fhirR4Checked).length;
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits: number): number => Number(x.toFixed(digits));

export async function compareBuilds(distA: string, distB: string, pairs = 40, sliceMs = 250, set = 'shipped'): Promise<object> {
  const messages =
    set === 'realistic'
      ? distinctPatients(REALISTIC_ADT_MESSAGES.map((m) => m.text), 15_000)
      : distinctPatients(benchAdtCases().map((c) => c.text), 5000);
  const a = await pipelineOf(distA);
  const b = await pipelineOf(distB);
  let sink = 0;
  const next = [0, 0];
  /** CPU µs a message over one slice of `step` (each build goes on through the messages). */
  const slice = (step: Step, which: number): number => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < sliceMs) {
      for (let k = 0; k < 200; k++) sink += step(messages[next[which]++ % messages.length]);
      n += 200;
    }
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / n;
  };
  // Warm-up: both builds' functions optimised before anything is kept.
  for (let i = 0; i < 12; i++) {
    slice(a, 0);
    slice(b, 1);
  }
  const usA: number[] = [];
  const usB: number[] = [];
  const ratios: number[] = [];
  for (let p = 0; p < pairs; p++) {
    // Each build goes first in every other pair.
    let x: number;
    let y: number;
    if (p % 2) {
      y = slice(b, 1);
      x = slice(a, 0);
    } else {
      x = slice(a, 0);
      y = slice(b, 1);
    }
    usA.push(x);
    usB.push(y);
    ratios.push(y / x);
  }
  return {
    set,
    a: distA,
    b: distB,
    pairs,
    sliceMs,
    cpuUsPerMessage: { a: round(median(usA), 1), b: round(median(usB), 1), bestA: round(Math.min(...usA), 1), bestB: round(Math.min(...usB), 1) },
    bOverA: { medianOfPairs: round(median(ratios), 3), best: round(Math.min(...usB) / Math.min(...usA), 3), pairsBFaster: ratios.filter((r) => r < 1).length },
    sink: sink >= 0 ? undefined : sink,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [distA, distB, pairs, sliceMs, set] = process.argv.slice(2);
  if (!distA || !distB) {
    console.error('usage: node dist/bench/mapping-ab.js <distA> <distB> [pairs=40] [sliceMs=250] [shipped|realistic]');
    process.exit(2);
  }
  console.log(JSON.stringify(await compareBuilds(distA, distB, Number(pairs ?? 40), Number(sliceMs ?? 250), set ?? 'shipped')));
}
