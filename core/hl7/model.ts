// The JSON view of an HL7 v2 message, and the pure functions that read it field by field.
// adapters/hl7v2/README.md documents the view (it is what mappings read).
import { unescapeHl7, type Separators } from './escape.js';

/** `Component = string[]` (subcomponents), `Repetition = Component[]`, `Field = Repetition[]`. */
export type Component = string[];
export type Repetition = Component[];
export type Field = Repetition[];
/** Indexed by HL7 field number; index 0 holds the segment id as `[[[id]]]`. */
export type Segment = Field[];
/** Segments keyed by id, in order of appearance. */
export type Hl7View = Record<string, Segment[]>;

/** A segment view some of whose fields may still be text (parsed on first read by fieldAt). */
export type LazySegment = (Field | string)[];

// Where the last readField() stopped: at the field separator after the field, or the end.
let fieldEnd = 0;

/**
 * The field starting at `start` of `line` (up to the next field separator or the end), as
 * repetitions → components → subcomponents; sets fieldEnd. One pass over the text: only
 * leaf values are sliced out, and only leaves containing the escape character are unescaped
 * (views feed every mapping, so nested split() calls would dominate mapping time).
 */
function readField(line: string, start: number, s: Separators): Field {
  const F = s.field.charCodeAt(0);
  const R = s.repetition.charCodeAt(0);
  const C = s.component.charCodeAt(0);
  const S = s.subcomponent.charCodeAt(0);
  const E = s.escape.charCodeAt(0);
  const len = line.length;
  if (start >= len || line.charCodeAt(start) === F) {
    fieldEnd = start;
    return [];
  }
  // Lists start as one-element literals and grow only when a separator says so: most
  // fields have one repetition and most components one subcomponent, and an empty `[]`
  // grown by push() reserves 17 slots (the view is most of a message's allocation).
  let field: Field | undefined;
  let rep: Repetition | undefined;
  let comp: Component | undefined;
  let leaf = start;
  let escaped = false;
  let j = start;
  for (; j <= len; j++) {
    const c = j === len ? F : line.charCodeAt(j);
    if (c === F || c === R || c === C || c === S) {
      const raw = line.slice(leaf, j);
      const v = escaped ? unescapeHl7(raw, s) : raw;
      escaped = false;
      leaf = j + 1;
      if (comp === undefined) comp = [v];
      else comp.push(v);
      if (c === S) continue;
      if (rep === undefined) rep = [comp];
      else rep.push(comp);
      comp = undefined;
      if (c === C) continue;
      if (field === undefined) field = [rep];
      else field.push(rep);
      rep = undefined;
      if (c === F) break;
    } else if (c === E) {
      escaped = true;
    }
  }
  fieldEnd = j;
  return field ?? [];
}

/** One segment's text as a view, every field parsed (MSH-1 and MSH-2 kept literal). */
export function segmentView(line: string, id: string, s: Separators): Segment {
  const len = line.length;
  const segment: Segment = [[[[id]]]];
  let i = 3; // at the field separator after the id (or the end)
  if (id === 'MSH') {
    const encEnd = line.indexOf(s.field, 4);
    segment.push([[[s.field]]], [[[line.slice(4, encEnd < 0 ? len : encEnd)]]]);
    i = encEnd < 0 ? len : encEnd;
  }
  while (i < len) {
    segment.push(readField(line, i + 1, s));
    i = fieldEnd;
  }
  return segment;
}

/** Field `n` of a segment view, parsing it (once) if it is still text. */
export function fieldAt(segment: LazySegment, n: number, s: Separators): Field | undefined {
  const f = segment[n];
  if (typeof f !== 'string') return f;
  const parsed = readField(f, 0, s);
  segment[n] = parsed;
  return parsed;
}

/**
 * The unescaped value at `component`, `subcomponent` (1-based) of the repetition that spans
 * `start`–`end` of field text `f`; '' when absent. What readField() then indexing would give,
 * without building the field's arrays: a mapping reads most fields one value at a time.
 */
export function leafOfText(f: string, start: number, end: number, component: number, subcomponent: number, s: Separators): string {
  let from = start;
  for (let i = 1; i < component; i++) {
    const next = f.indexOf(s.component, from);
    if (next < 0 || next >= end) return '';
    from = next + 1;
  }
  let to = f.indexOf(s.component, from);
  if (to < 0 || to > end) to = end;
  for (let i = 1; i < subcomponent; i++) {
    const next = f.indexOf(s.subcomponent, from);
    if (next < 0 || next >= to) return '';
    from = next + 1;
  }
  const subEnd = f.indexOf(s.subcomponent, from);
  const raw = f.slice(from, subEnd < 0 || subEnd > to ? to : subEnd);
  return s.escape !== '' && raw.includes(s.escape) ? unescapeHl7(raw, s) : raw;
}

/** Parse every field of a segment view still held as text; returns it as a plain Segment. */
export function materializeSegment(segment: LazySegment, s: Separators): Segment {
  for (let n = 1; n < segment.length; n++) if (typeof segment[n] === 'string') fieldAt(segment, n, s);
  return segment as Segment;
}
