// The shipped ADT cases the mapping benchmark replays and varies: a fixed list, so adding an
// example case (mappings/hl7v2/cases) never changes what the benchmark measures, and figures
// stay comparable across releases. test/unit/bench-data.test.ts checks the same list.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeHl7File } from '../mappings/engine/cases.js';
import { MAPPINGS_DIR } from '../mappings/index.js';

/** A realistic event mix; each case maps successfully and uses the standard separators. */
export const BENCH_ADT_CASES = [
  'a01-admit-bst-repeats',
  'a01-latin1',
  'a01-v25-offset',
  'a02-transfer-gmt',
  'a03-discharge',
  'a04-outpatient-nh-status',
  'a05-preadmit',
  'a08-update-escapes',
  'a11-cancel-admit',
  'a12-cancel-transfer',
  'a13-cancel-discharge',
  'a28-no-nhs-number',
  'a31-invalid-nhs-number',
  'a34-merge-mrn',
  'a40-merge-nhs',
] as const;

/** The benchmark's cases as text (decoded per MSH-18), in list order. */
export function benchAdtCases(dir = join(MAPPINGS_DIR, 'hl7v2', 'cases')): { name: string; text: string }[] {
  return BENCH_ADT_CASES.map((name) => ({ name: `${name}.hl7`, text: decodeHl7File(readFileSync(join(dir, `${name}.hl7`))) }));
}
