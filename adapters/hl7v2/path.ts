// HL7 field notation: `PID-3`, `PID-5.1`, `PID-3[2].1.2`, `NK1[2]-2.1` (all numbers 1-based;
// `[n]` after the segment id picks the n-th occurrence of that segment, after the field the
// n-th repetition). `PID.3` is accepted as a synonym of `PID-3`.
import { ParseError } from '../../core/errors.js';

export interface Hl7Path {
  segment: string;
  /** 1-based occurrence of the segment. */
  occurrence: number;
  /** 1-based field number; 0 means the whole segment. */
  field: number;
  /** 1-based repetition; undefined when not given. */
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

const PATH_RE = /^([A-Z0-9]{3})(?:\[(\d+)\])?(?:[-.](\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?)?$/;
const cache = new Map<string, Hl7Path>();

function positive(text: string | undefined, path: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (n < 1) throw new ParseError(`HL7 path "${path}" uses 0; positions are 1-based`, path);
  return n;
}

/** Parse (and cache) an HL7 path; throws ParseError on bad notation. */
export function parseHl7Path(path: string): Hl7Path {
  const hit = cache.get(path);
  if (hit) return hit;
  const m = PATH_RE.exec(path);
  if (!m) throw new ParseError(`Not an HL7 path: "${path}" (expected e.g. PID-3[2].1)`, path);
  const parsed: Hl7Path = {
    segment: m[1],
    occurrence: positive(m[2], path) ?? 1,
    field: m[3] === undefined ? 0 : Number(m[3]),
    repetition: positive(m[4], path),
    component: positive(m[5], path),
    subcomponent: positive(m[6], path),
  };
  if (cache.size < 10_000) cache.set(path, parsed);
  return parsed;
}
