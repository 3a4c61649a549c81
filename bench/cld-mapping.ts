// CLD throughput, single process: CLD rows → validated FHIR R4 transaction Bundles, one per
// person. The input is the sample extract's people cloned with fresh ids and valid NHS
// numbers (about 2.25 rows a person, like a quarterly extract), written as CSV text so the
// end-to-end figure includes CSV parsing. Stages are also timed alone.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { nhsNumberCheckDigit } from '../mappings/functions/nhs-number.js';
import { fhirIssues } from '../mappings/validate/index.js';
import { CLD_MAPPING_ID, mapCldPerson, readCldCsv } from '../mappings/social-care/cld.js';
import { prepareCldRecord, type CldRecord } from '../mappings/social-care/cld-validate.js';
import { groupCldRows } from '../mappings/social-care/group.js';
import { loadMappingById } from '../mappings/index.js';

const SAMPLE = new URL('../channels/examples/extracts/cld-sample.csv', import.meta.url);

function csvLine(values: string[]): string {
  return values.map((v) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(',');
}

/** The n-th synthetic NHS number in the 999 test range that passes Modulus 11. */
function* nhsNumbers(): Generator<string> {
  for (let base = 999_100_000; ; base++) {
    const nine = String(base);
    const check = nhsNumberCheckDigit(nine);
    if (check !== undefined) yield `${nine}${check}`;
  }
}

/** `people` clones of the sample's good, publishable people (no sensitive or bad rows), as CSV. */
export function syntheticCldCsv(people: number): { csv: string; rows: number } {
  const sample = readCldCsv(readFileSync(SAMPLE, 'utf8'));
  const good = sample.filter((r) => prepareCldRecord(r.raw).ok && !r.raw.Sensitivity).map((r) => r.raw);
  const templates = [...new Set(good.map((r) => r.LA_Person_Unique_Identifier))].map((id) => good.filter((r) => r.LA_Person_Unique_Identifier === id));
  const nhs = nhsNumbers();
  const out: Record<string, string>[] = [];
  for (let i = 0; i < people; i++) {
    const rows = templates[i % templates.length];
    const id = `${rows[0].LA_Person_Unique_Identifier}-${i}`;
    const number = nhs.next().value as string;
    for (const r of rows) {
      out.push({
        ...r,
        LA_Person_Unique_Identifier: id,
        NHS_Number: r.LA_Person_Unique_Identifier === 'P1003' ? r.NHS_Number : number,
        Event_Reference: `${r.Event_Reference}-${i}`,
        Adult_1_Linked_Person_ID: r.Adult_1_Linked_Person_ID ? `${r.Adult_1_Linked_Person_ID}-${i - 2}` : '',
      });
    }
  }
  const columns = Object.keys(sample[0].raw);
  const lines = [csvLine(columns), ...out.map((r) => csvLine(columns.map((c) => r[c] ?? '')))];
  return { csv: `${lines.join('\n')}\n`, rows: out.length };
}

interface Stage {
  label: string;
  /** CLD rows per second of wall time. */
  rowsPerSec: number;
  /** Person Bundles per second of wall time. */
  bundlesPerSec: number;
  /** Rows per second of this process's CPU time: steadier on a shared machine. */
  rowsPerCpuSec: number;
  rounds: number;
}

function timeStage(label: string, rows: number, bundles: number, minMs: number, run: () => void): Stage {
  run(); // warm up the JIT
  let rounds = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < minMs) {
    run();
    rounds++;
    elapsed = performance.now() - start;
  }
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    label,
    rowsPerSec: Math.round(((rows * rounds) / elapsed) * 1000),
    bundlesPerSec: Math.round(((bundles * rounds) / elapsed) * 1000),
    rowsPerCpuSec: Math.round(((rows * rounds) / cpuMs) * 1000),
    rounds,
  };
}

export async function benchCldMapping(options: { people?: number; minMs?: number } = {}): Promise<object> {
  const people = options.people ?? 2000;
  const minMs = options.minMs ?? 3000;
  const { csv, rows } = syntheticCldCsv(people);
  loadMappingById(CLD_MAPPING_ID);

  const raw = readCldCsv(csv).map((r) => r.raw);
  const prepared = raw.map((r) => prepareCldRecord(r));
  if (prepared.some((p) => !p.ok)) throw new Error('benchmark rows do not validate');
  const records: CldRecord[] = prepared.map((p) => p.record);
  const inputs = groupCldRows(records);
  const bundles = inputs.map((i) => mapCldPerson(i).bundle);
  const entries = bundles.reduce((s, b) => s + (b.entry?.length ?? 0), 0) / bundles.length;

  let sink = 0;
  const stages = [
    timeStage('CSV parse', rows, inputs.length, minMs, () => {
      sink += readCldCsv(csv).length;
    }),
    timeStage('normalise + validate rows (schema)', rows, inputs.length, minMs, () => {
      for (const r of raw) sink += prepareCldRecord(r).ok ? 1 : 0;
    }),
    timeStage('group rows per person', rows, inputs.length, minMs, () => {
      sink += groupCldRows(records).length;
    }),
    timeStage('map + validate Bundles (FHIR R4 schema + UK Core)', rows, inputs.length, minMs, () => {
      for (const i of inputs) sink += mapCldPerson(i).bundle.entry?.length ?? 0;
    }),
    timeStage('validate Bundles only', rows, inputs.length, minMs, () => {
      for (const b of bundles) sink += fhirIssues(b).length;
    }),
    timeStage('end to end: CSV text → validated Bundles', rows, inputs.length, minMs, () => {
      const good = readCldCsv(csv)
        .map((r) => prepareCldRecord(r.raw))
        .filter((p) => p.ok)
        .map((p) => p.record);
      for (const i of groupCldRows(good)) sink += mapCldPerson(i).bundle.entry?.length ?? 0;
    }),
  ];
  const endToEnd = stages[stages.length - 1];
  return {
    name: 'mapping: CLD rows → FHIR R4 UK Core transaction Bundles (one per person)',
    input: { people: inputs.length, rows, csvBytes: Buffer.byteLength(csv), meanRowsPerPerson: Math.round((rows / inputs.length) * 100) / 100, meanBundleEntries: Math.round(entries * 10) / 10 },
    rowsPerSec: endToEnd.rowsPerSec,
    bundlesPerSec: endToEnd.bundlesPerSec,
    stages,
    sink: sink > 0,
  };
}
