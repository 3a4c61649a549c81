// HL7 field notation over the JSON view (adapters/hl7v2 toView):
//
//   PID-5            field 5 of PID: its repetitions (a value takes the first)
//   PID-5.1          component 1 (first subcomponent)      PID-5.1.2  subcomponent 2
//   PID-3[2]         the 2nd repetition                    PID-3[*]   every repetition
//   NK1[2]-2         field 2 of the 2nd NK1 segment        NK1        every NK1 segment
//   PID-3(CX.5=NH).1 component 1 of the repetitions whose component 5 is NH
//                    (also `!=` and `^=` starts-with; `;` joins conditions; the data
//                    type prefix `CX.` is for readers and optional)
//   @  @-3.1  @.4    the current `$forEach` item (a segment, a repetition or a value)
//
// A path yields a list of matches; empty values are not matches.
import type { Separators } from '../../adapters/hl7v2/escape.js';
import { fieldAt, leafOfText, type LazySegment, type Repetition, type Segment } from '../../adapters/hl7v2/parse.js';
import type { SegmentSource } from './hl7-input.js';
import { append } from './builders.js';

export type Hl7Level = 'segment' | 'repetition' | 'value';

export interface Hl7Condition {
  component: number;
  subcomponent: number;
  op: '=' | '!=' | '^=';
  value: string;
}

export interface ParsedHl7Path {
  /** `@` paths read the innermost loop item. */
  relative: boolean;
  segment?: string;
  /** 1-based; undefined = every occurrence. */
  occurrence?: number;
  field?: number;
  /** 1-based; undefined = every repetition. */
  repetition?: number;
  conditions: Hl7Condition[];
  component?: number;
  subcomponent?: number;
}

const SEGMENT_PATH = /^([A-Z][A-Z0-9]{2})(?:\[(\d+|\*)\])?(?:-(\d+)(?:\[(\d+|\*)\])?(?:\(([^()]*)\))?(?:\.(\d+)(?:\.(\d+))?)?)?$/;
const ITEM_PATH = /^@(?:-(\d+)(?:\[(\d+|\*)\])?(?:\(([^()]*)\))?)?(?:\.(\d+)(?:\.(\d+))?)?$/;
const CONDITION = /^(?:[A-Z][A-Z0-9]{1,3}\.)?(\d+)(?:\.(\d+))?\s*(=|!=|\^=)\s*(.*)$/;

function positive(text: string | undefined, path: string): number | undefined {
  if (text === undefined || text === '*') return undefined;
  const n = Number(text);
  if (n < 1) throw new Error(`HL7 path "${path}": positions are 1-based, not 0`);
  return n;
}

function parseConditions(text: string | undefined, path: string): Hl7Condition[] {
  if (text === undefined) return [];
  return text.split(';').map((part) => {
    const m = CONDITION.exec(part.trim());
    if (!m) throw new Error(`HL7 path "${path}": filter "${part}" must look like CX.5=NH (operators =, !=, ^=)`);
    return { component: Number(m[1]), subcomponent: m[2] ? Number(m[2]) : 1, op: m[3] as Hl7Condition['op'], value: m[4].trim() };
  });
}

export function parseHl7MappingPath(path: string): ParsedHl7Path {
  const p = path.trim();
  if (p.startsWith('@')) {
    const m = ITEM_PATH.exec(p);
    if (!m) throw new Error(`"${path}" is not an item path (expected @, @-3.1 or @.1.2)`);
    return {
      relative: true,
      field: positive(m[1], path),
      repetition: positive(m[2], path),
      conditions: parseConditions(m[3], path),
      component: positive(m[4], path),
      subcomponent: positive(m[5], path),
    };
  }
  const m = SEGMENT_PATH.exec(p);
  if (!m) throw new Error(`"${path}" is not HL7 field notation (expected e.g. PID-3, PID-5.1, PID-3(CX.5=NH).1, NK1[2]-2)`);
  if (m[5] !== undefined && m[3] === undefined) throw new Error(`HL7 path "${path}": a filter needs a field`);
  return {
    relative: false,
    segment: m[1],
    occurrence: positive(m[2], path),
    field: m[3] === undefined ? undefined : Number(m[3]),
    repetition: positive(m[4], path),
    conditions: parseConditions(m[5], path),
    component: positive(m[6], path),
    subcomponent: positive(m[7], path),
  };
}

/** What the matches of a path are: whole segments, field repetitions, or text values. */
export function levelOf(p: ParsedHl7Path, itemLevel: Hl7Level | undefined): Hl7Level {
  if (p.component !== undefined) return 'value';
  if (p.field !== undefined) return 'repetition';
  return p.relative ? (itemLevel ?? 'value') : 'segment';
}

function leaf(rep: Repetition, component: number, subcomponent: number): string {
  const c = rep[component - 1];
  return c === undefined ? '' : (c[subcomponent - 1] ?? '');
}

function conditionHolds(rep: Repetition, c: Hl7Condition): boolean {
  const v = leaf(rep, c.component, c.subcomponent);
  if (c.op === '=') return v === c.value;
  if (c.op === '!=') return v !== c.value;
  return v.startsWith(c.value);
}

function isEmptyRepetition(rep: Repetition): boolean {
  for (const c of rep) for (const s of c) if (s !== '') return false;
  return true;
}

/** The first non-empty value at `component`.`sub` among repetitions `from`…`to - 1` (0-based) of field text. */
function firstLeafOfText(f: string, from: number, to: number, component: number, sub: number, seps: Separators): string | undefined {
  let start = 0;
  for (let r = 0; r < to; r++) {
    const next = f.indexOf(seps.repetition, start);
    if (r >= from) {
      const v = leafOfText(f, start, next < 0 ? f.length : next, component, sub, seps);
      if (v !== '') return v;
    }
    if (next < 0) return undefined;
    start = next + 1;
  }
  return undefined;
}

/** Every non-empty value at `component`.`sub` of repetitions `from`…`to - 1` of field text, appended to `out`. */
function leavesOfText(f: string, from: number, to: number, component: number, sub: number, seps: Separators, out: unknown[] | undefined): unknown[] | undefined {
  let start = 0;
  for (let r = 0; r < to; r++) {
    const next = f.indexOf(seps.repetition, start);
    if (r >= from) {
      const v = leafOfText(f, start, next < 0 ? f.length : next, component, sub, seps);
      if (v !== '') out = append(out, v);
    }
    if (next < 0) return out;
    start = next + 1;
  }
  return out;
}

/**
 * Compile the part after the segment: field, repetition, filter, component. Returns a
 * function that adds the matches found in one segment to `out` (creating it if need be).
 */
type WithinSegment = (seg: LazySegment, out: unknown[] | undefined, seps: Separators) => unknown[] | undefined;

function compileWithinSegment(p: ParsedHl7Path): WithinSegment {
  const { field, repetition, conditions, component } = p;
  const sub = p.subcomponent ?? 1;
  if (field === undefined) return (seg, out) => append(out, seg);
  const from = repetition === undefined ? 0 : repetition - 1;
  const last = repetition ?? Infinity;
  // A plain value (`PID-5.1`) of a field not parsed yet is read from its text: no arrays.
  const fromText = component !== undefined && conditions.length === 0;
  return (seg, out, seps) => {
    const text = seg[field];
    if (fromText && typeof text === 'string') {
      if (text.length === 0) return out;
      return leavesOfText(text, from, last, component, sub, seps, out);
    }
    const f = fieldAt(seg, field, seps);
    if (f === undefined || f.length === 0) return out;
    const to = repetition === undefined ? f.length : Math.min(repetition, f.length);
    for (let r = from; r < to; r++) {
      const rep = f[r];
      if (rep === undefined) continue;
      let ok = true;
      for (let i = 0; i < conditions.length; i++) {
        if (!conditionHolds(rep, conditions[i])) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (component === undefined) {
        if (!isEmptyRepetition(rep)) out = append(out, rep);
      } else {
        const v = leaf(rep, component, sub);
        if (v !== '') out = append(out, v);
      }
    }
    return out;
  };
}

const segmentReaders = new Map<string, (view: SegmentSource) => LazySegment[] | undefined>();

/**
 * `view.segments(id)`, remembering the answer for the last view asked. Every path naming the
 * segment shares the reader: a run reads PID through dozens of paths, all of one message.
 */
function lastSegmentsReader(segmentId: string): (view: SegmentSource) => LazySegment[] | undefined {
  const existing = segmentReaders.get(segmentId);
  if (existing) return existing;
  let lastView: SegmentSource | undefined;
  let lastSegments: LazySegment[] | undefined;
  const reader = (view: SegmentSource): LazySegment[] | undefined => {
    if (view !== lastView) {
      lastSegments = view.segments(segmentId);
      lastView = view;
    }
    return lastSegments;
  };
  segmentReaders.set(segmentId, reader);
  return reader;
}

/**
 * Compile a path into a function returning its matches. `itemLevel` is what the innermost
 * loop item is (for `@` paths) and `readItem` fetches it; `rebound` is set when the path's
 * segment is the one being looped over, so `AL1-3` inside `$forEach: AL1` reads the current AL1.
 */
export function compileHl7Path(
  p: ParsedHl7Path,
  itemLevel: Hl7Level | undefined,
  readItem: ((slots: unknown[]) => unknown) | undefined,
  rebound: ((slots: unknown[]) => unknown) | undefined,
): (view: SegmentSource, slots: unknown[]) => unknown[] {
  const within = compileWithinSegment(p);
  if (p.relative) {
    if (!readItem) throw new Error('"@" is only meaningful inside $forEach or $use … $with');
    if (itemLevel === 'segment') {
      return (view, slots) => {
        const seg = readItem(slots) as Segment | undefined;
        return (seg === undefined ? undefined : within(seg, undefined, view.separators)) ?? [];
      };
    }
    if (p.field !== undefined) throw new Error('"@-n" needs the loop item to be a segment (e.g. $forEach: NK1)');
    if (p.component === undefined) {
      return (_view, slots) => {
        const v = readItem(slots);
        return v === undefined || v === '' ? [] : [v];
      };
    }
    if (itemLevel === 'value') throw new Error('"@.n" needs the loop item to be a field repetition (e.g. $forEach: PID-3)');
    const component = p.component;
    const sub = p.subcomponent ?? 1;
    return (_view, slots) => {
      const rep = readItem(slots) as Repetition | undefined;
      if (rep === undefined) return [];
      const v = leaf(rep, component, sub);
      return v === '' ? [] : [v];
    };
  }
  if (rebound) {
    return (view, slots) => {
      const seg = rebound(slots) as Segment | undefined;
      return (seg === undefined ? undefined : within(seg, undefined, view.separators)) ?? [];
    };
  }
  const segmentId = p.segment as string;
  const occurrence = p.occurrence;
  const segmentsOf = lastSegmentsReader(segmentId);
  return (view) => {
    const segs = segmentsOf(view);
    if (segs === undefined) return [];
    if (occurrence !== undefined) {
      const seg = segs[occurrence - 1];
      return (seg === undefined ? undefined : within(seg, undefined, view.separators)) ?? [];
    }
    let out: unknown[] | undefined;
    for (let i = 0; i < segs.length; i++) out = within(segs[i], out, view.separators);
    return out ?? [];
  };
}

/** The first match within one segment, without collecting the others. */
function compileFirstWithinSegment(p: ParsedHl7Path): (seg: LazySegment, seps: Separators) => unknown {
  const { field, repetition, conditions, component } = p;
  const sub = p.subcomponent ?? 1;
  if (field === undefined) return (seg) => seg;
  const from = repetition === undefined ? 0 : repetition - 1;
  const last = repetition ?? Infinity;
  const fromText = component !== undefined && conditions.length === 0;
  return (seg, seps) => {
    const text = seg[field];
    if (fromText && typeof text === 'string') {
      if (text.length === 0) return undefined;
      return firstLeafOfText(text, from, last, component, sub, seps);
    }
    const f = fieldAt(seg, field, seps);
    if (f === undefined || f.length === 0) return undefined;
    const to = repetition === undefined ? f.length : Math.min(repetition, f.length);
    for (let r = from; r < to; r++) {
      const rep = f[r];
      if (rep === undefined) continue;
      let ok = true;
      for (let i = 0; i < conditions.length; i++) {
        if (!conditionHolds(rep, conditions[i])) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (component === undefined) {
        if (!isEmptyRepetition(rep)) return rep;
      } else {
        const v = leaf(rep, component, sub);
        if (v !== '') return v;
      }
    }
    return undefined;
  };
}

/**
 * Like compileHl7Path but returns only the first match (or undefined): what a value needs,
 * without building a list per read.
 */
export function compileHl7PathFirst(
  p: ParsedHl7Path,
  itemLevel: Hl7Level | undefined,
  readItem: ((slots: unknown[]) => unknown) | undefined,
  rebound: ((slots: unknown[]) => unknown) | undefined,
): (view: SegmentSource, slots: unknown[]) => unknown {
  const within = compileFirstWithinSegment(p);
  if (p.relative && readItem) {
    if (itemLevel === 'segment') {
      return (view, slots) => {
        const seg = readItem(slots) as Segment | undefined;
        return seg === undefined ? undefined : within(seg, view.separators);
      };
    }
    if (p.component === undefined) {
      return (_view, slots) => {
        const v = readItem(slots);
        return v === '' ? undefined : v;
      };
    }
    const component = p.component;
    const sub = p.subcomponent ?? 1;
    return (_view, slots) => {
      const rep = readItem(slots) as Repetition | undefined;
      if (rep === undefined) return undefined;
      const v = leaf(rep, component, sub);
      return v === '' ? undefined : v;
    };
  }
  if (rebound) {
    return (view, slots) => {
      const seg = rebound(slots) as Segment | undefined;
      return seg === undefined ? undefined : within(seg, view.separators);
    };
  }
  const segmentId = p.segment as string;
  const occurrence = p.occurrence;
  const segmentsOf = lastSegmentsReader(segmentId);
  return (view) => {
    const segs = segmentsOf(view);
    if (segs === undefined) return undefined;
    if (occurrence !== undefined) {
      const seg = segs[occurrence - 1];
      return seg === undefined ? undefined : within(seg, view.separators);
    }
    for (let i = 0; i < segs.length; i++) {
      const v = within(segs[i], view.separators);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

/** Read a component reference such as `CX.5`, `5`, `5.2` (repetition items) or `3.1` (segment items). */
export function compileHl7ItemKey(key: string, itemLevel: Hl7Level): (item: unknown) => string {
  if (itemLevel === 'segment') {
    const m = /^(\d+)(?:\.(\d+)(?:\.(\d+))?)?$/.exec(key);
    if (!m) throw new Error(`where key "${key}" must be a field reference such as 6 or 3.1 for segment items`);
    const field = Number(m[1]);
    const component = m[2] ? Number(m[2]) : 1;
    const sub = m[3] ? Number(m[3]) : 1;
    return (item) => {
      const f = (item as Segment)[field];
      const rep = f?.[0];
      return rep ? leaf(rep, component, sub) : '';
    };
  }
  if (itemLevel === 'repetition') {
    const m = /^(?:[A-Z][A-Z0-9]{1,3}\.)?(\d+)(?:\.(\d+))?$/.exec(key);
    if (!m) throw new Error(`where key "${key}" must be a component reference such as CX.5 or 5`);
    const component = Number(m[1]);
    const sub = m[2] ? Number(m[2]) : 1;
    return (item) => leaf(item as Repetition, component, sub);
  }
  if (key !== '@') throw new Error(`where key "${key}": text values can only be tested with the key "@"`);
  return (item) => (typeof item === 'string' ? item : '');
}
