// Words for runtime mapping errors, worked out when the mapping is compiled: which input a
// value reads (`PV1-19.1`, `$.person.LA_Person_Unique_Identifier`) and where it goes
// (`Encounter.identifier[0].value at entry[8]`). A run only reads these strings when it fails.
import type { InputKind } from './types.js';

/** Longest input description a message carries; a value reading many fields is cut short. */
const SOURCE_TEXT_MAX = 120;

/** The distinct input descriptions of several values, e.g. `PV1-19.1 or PV1-50.1`. */
export function joinSources(sources: readonly (string | undefined)[], separator: string): string | undefined {
  let out: string | undefined;
  for (const s of new Set(sources)) {
    if (!s) continue;
    const next = out === undefined ? s : `${out}${separator}${s}`;
    if (next.length > SOURCE_TEXT_MAX) return `${out ?? ''}${separator}…`;
    out = next;
  }
  return out;
}

/** A loop item path relative to its loop's source, written as one path where that reads right. */
function relativeTo(rel: string, item: string | undefined, input: InputKind): string {
  if (!item) return rel;
  if (rel === '@') return item;
  if (input === 'json') return /^\$\S*$/.test(item) ? `${item}${rel.slice(1)}` : `${rel} in ${item}`;
  if (/^[A-Z][A-Z0-9]{2}\S*$/.test(item)) {
    const bare = item.replace(/\([^)]*\)/g, '');
    // `@-3.1` of a segment (AL1) is AL1-3.1; `@.1` of a field (PV1-7) is PV1-7.1.
    if (rel.startsWith('@-') && !bare.includes('-')) return `${item}${rel.slice(1)}`;
    if (rel.startsWith('@.') && bare.includes('-') && !bare.includes('.')) return `${item}${rel.slice(1)}`;
  }
  return `${rel} in ${item}`;
}

/** What a `$path` reads: `PV1-19.1`, `PID segment`, `$.person.id`, `PV1-7.1` for `@.1` in a PV1-7 loop. */
export function describePath(path: string, input: InputKind, wholeSegment: boolean, item?: string): string {
  const p = path.trim();
  const text = p.startsWith('@') ? relativeTo(p, item, input) : p;
  return wholeSegment && !p.startsWith('@') ? `${text} segment` : text;
}

/** A resource being compiled: its type and the output target it sits at. */
export interface ResourceFrame {
  type: string;
  target: string;
}

/**
 * An output target named the way a reader of FHIR names it: `Encounter.identifier[0].value at
 * entry[8]` inside a resource with a constant `resourceType` (innermost of `frames`), else the
 * target as it is (`let.visitNumber`, `birthDate`).
 */
export function outputName(target: string, frames: readonly ResourceFrame[]): string {
  for (let i = frames.length - 1; i >= 0; i--) {
    const { type, target: at } = frames[i];
    let rest: string;
    if (target === at) rest = '';
    else if (at === '') rest = target.startsWith('[') ? target : `.${target}`;
    else if (target.startsWith(`${at}.`) || target.startsWith(`${at}[`)) rest = target.slice(at.length);
    else continue;
    const entry = at.replace(/\.resource$/, '');
    return entry ? `${type}${rest} at ${entry}` : `${type}${rest}`;
  }
  return target || '(output)';
}

/**
 * Where a run failed, for its message: `from` the input (`PV1-19.1 or PV1-50.1 (visitNumber)`:
 * what a `$var` read, then its name) `to` the output (`Encounter.identifier[0].value at entry[8]`).
 */
export function failurePlace(
  source: string | undefined,
  varName: string | undefined,
  target: string,
  frames: readonly ResourceFrame[],
): { from?: string; to: string } {
  const from = varName === undefined ? source : source ? `${source} (${varName})` : varName;
  return { from, to: outputName(target, frames) };
}
