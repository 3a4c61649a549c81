// Words for runtime mapping errors, worked out when the mapping is compiled: which input a
// value reads (`PV1-19.1`, `$.person.LA_Person_Unique_Identifier`) and where it goes
// (`Encounter.identifier[0].value at entry[8]`). A run only reads these strings when it fails.
import type { InputKind } from './types.js';

/** What a value reads: input locations in first-use order, each once. */
export interface Source {
  fields: readonly string[];
  /** The value is the first of these that is set (`$first`), not built from all of them. */
  oneOf: boolean;
}

/** A message lists this many locations at most; a value built from more is cut short. */
const SHOWN_FIELDS = 6;

/** The input read by a value made of `parts`: alternatives (`$first`) or all of them. */
export function joinSources(parts: readonly (Source | undefined)[], oneOf: boolean): Source | undefined {
  const fields = [...new Set(parts.flatMap((p) => p?.fields ?? []))];
  if (!fields.length) return undefined;
  return { fields, oneOf: oneOf && parts.every((p) => !p || p.oneOf || p.fields.length === 1) };
}

/** `PV1-19.1 or PV1-50.1`, `MSH-4, PV1-3.4, PV1-3.1`. */
export function sourceText(source: Source | undefined): string | undefined {
  if (!source) return undefined;
  const shown = source.fields.slice(0, SHOWN_FIELDS).join(source.oneOf ? ' or ' : ', ');
  const more = source.fields.length - SHOWN_FIELDS;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

/** A loop item path relative to one of its loop's locations, written as one path where that reads right. */
function relativeTo(rel: string, item: string, input: InputKind): string {
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
export function describePath(path: string, input: InputKind, wholeSegment: boolean, item?: Source): Source {
  const p = path.trim();
  if (!p.startsWith('@')) return { fields: [wholeSegment ? `${p} segment` : p], oneOf: false };
  if (!item) return { fields: [p], oneOf: false };
  return { fields: [...new Set(item.fields.map((f) => relativeTo(p, f, input)))], oneOf: item.oneOf };
}

/** The items of a JSON loop: `$.events` goes over `$.events[*]`. */
export function jsonItems(source: Source | undefined): Source | undefined {
  if (!source) return undefined;
  return { fields: source.fields.map((f) => (/^\$\S*[^\]]$/.test(f) ? `${f}[*]` : f)), oneOf: source.oneOf };
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
  source: Source | undefined,
  varName: string | undefined,
  target: string,
  frames: readonly ResourceFrame[],
): { from?: string; to: string } {
  const read = sourceText(source);
  const from = varName === undefined ? read : read ? `${read} (${varName})` : varName;
  return { from, to: outputName(target, frames) };
}
