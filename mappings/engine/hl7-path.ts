// HL7 paths in mappings: core's field notation (core/hl7/path.ts) compiled into readers over
// the JSON view. A path yields a list of matches; empty values are not matches. A segment
// path without `[n]` reads every occurrence, a field without `[n]` every repetition.
//
// Two readers per path, from one set of checks (checkItemUse): `all` gives every match,
// `first` the first one without building a list (what a value needs, on the hot path).
import type { Separators } from '../../core/hl7/escape.js';
import { fieldAt, leafOfText, type LazySegment, type Repetition, type Segment } from '../../core/hl7/model.js';
import { parseComponentRef, type Hl7Condition, type Hl7Path } from '../../core/hl7/path.js';
import type { SegmentSource } from './hl7-input.js';
import { append } from './lists.js';

export type Hl7Level = 'segment' | 'repetition' | 'value';

type ReadItem = (slots: unknown[]) => unknown;
export type AllReader = (view: SegmentSource, slots: unknown[]) => unknown[];
export type FirstReader = (view: SegmentSource, slots: unknown[]) => unknown;

/** What the matches of a path are: whole segments, field repetitions, or text values. */
export function levelOf(p: Hl7Path, itemLevel: Hl7Level | undefined): Hl7Level {
  if (p.component !== undefined) return 'value';
  if (p.field !== undefined) return 'repetition';
  return p.relative ? (itemLevel ?? 'value') : 'segment';
}

/**
 * Whether the loop around an `@` path gives it something to read: the checks both readers
 * rely on. `@-n` needs a segment item, `@.n` a segment or repetition item.
 */
function checkItemUse(p: Hl7Path, itemLevel: Hl7Level | undefined, readItem: ReadItem | undefined): void {
  if (!p.relative) return;
  if (!readItem || itemLevel === undefined) throw new Error('"@" is only meaningful inside $forEach or $use … $with');
  if (itemLevel === 'segment') return;
  if (p.field !== undefined) throw new Error('"@-n" needs the loop item to be a segment (e.g. $forEach: NK1)');
  if (p.component !== undefined && itemLevel === 'value') throw new Error('"@.n" needs the loop item to be a field repetition (e.g. $forEach: PID-3)');
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

// A loop rather than every(), which would allocate a callback per repetition.
function allHold(rep: Repetition, conditions: readonly Hl7Condition[]): boolean {
  for (let i = 0; i < conditions.length; i++) if (!conditionHolds(rep, conditions[i])) return false;
  return true;
}

function isEmptyRepetition(rep: Repetition): boolean {
  for (const c of rep) for (const s of c) if (s !== '') return false;
  return true;
}

/**
 * The match a repetition gives (itself, or the value at `component`), undefined when it
 * fails a filter or is empty. Both readers take their matches from here.
 */
function matchOf(rep: Repetition | undefined, conditions: readonly Hl7Condition[], component: number | undefined, sub: number): unknown {
  if (rep === undefined || !allHold(rep, conditions)) return undefined;
  if (component === undefined) return isEmptyRepetition(rep) ? undefined : rep;
  const v = leaf(rep, component, sub);
  return v === '' ? undefined : v;
}

/**
 * The non-empty values at `component`.`sub` of repetitions `from`…`to - 1` (0-based) of
 * field text, without parsing the field: every one appended to `out`, or with `first` set
 * only the first one returned.
 */
function leavesOfText(f: string, from: number, to: number, component: number, sub: number, seps: Separators, out: unknown[] | undefined, first: boolean): unknown {
  let start = 0;
  for (let r = 0; r < to; r++) {
    const next = f.indexOf(seps.repetition, start);
    if (r >= from) {
      const v = leafOfText(f, start, next < 0 ? f.length : next, component, sub, seps);
      if (v !== '') {
        if (first) return v;
        out = append(out, v);
      }
    }
    if (next < 0) break;
    start = next + 1;
  }
  return first ? undefined : out;
}

/** The part after the segment (field, repetition, filter, component), read in one segment. */
interface WithinSegment {
  /** Adds the segment's matches to `out` (creating it if need be). */
  all(seg: LazySegment, out: unknown[] | undefined, seps: Separators): unknown[] | undefined;
  first(seg: LazySegment, seps: Separators): unknown;
}

function compileWithinSegment(p: Hl7Path): WithinSegment {
  const { field, repetition, conditions, component } = p;
  const sub = p.subcomponent ?? 1;
  if (field === undefined) return { all: (seg, out) => append(out, seg), first: (seg) => seg };
  const from = repetition === undefined ? 0 : repetition - 1;
  const last = repetition ?? Infinity;
  // A plain value (`PID-5.1`) of a field not parsed yet is read from its text: no arrays.
  const fromText = component !== undefined && conditions.length === 0;
  return {
    all: (seg, out, seps) => {
      const text = seg[field];
      if (fromText && typeof text === 'string') {
        if (text.length === 0) return out;
        return leavesOfText(text, from, last, component, sub, seps, out, false) as unknown[] | undefined;
      }
      const f = fieldAt(seg, field, seps);
      if (f === undefined || f.length === 0) return out;
      const to = Math.min(last, f.length);
      for (let r = from; r < to; r++) {
        const m = matchOf(f[r], conditions, component, sub);
        if (m !== undefined) out = append(out, m);
      }
      return out;
    },
    first: (seg, seps) => {
      const text = seg[field];
      if (fromText && typeof text === 'string') {
        if (text.length === 0) return undefined;
        return leavesOfText(text, from, last, component, sub, seps, undefined, true);
      }
      const f = fieldAt(seg, field, seps);
      if (f === undefined || f.length === 0) return undefined;
      const to = Math.min(last, f.length);
      for (let r = from; r < to; r++) {
        const m = matchOf(f[r], conditions, component, sub);
        if (m !== undefined) return m;
      }
      return undefined;
    },
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
 * Throws when an `@` path does not fit its loop (see checkItemUse).
 */
export function compileHl7Path(p: Hl7Path, itemLevel: Hl7Level | undefined, readItem: ReadItem | undefined, rebound: ReadItem | undefined): AllReader {
  checkItemUse(p, itemLevel, readItem);
  const within = compileWithinSegment(p).all;
  if (p.relative) {
    const item = readItem as ReadItem;
    if (itemLevel === 'segment') {
      return (view, slots) => {
        const seg = item(slots) as Segment | undefined;
        return (seg === undefined ? undefined : within(seg, undefined, view.separators)) ?? [];
      };
    }
    if (p.component === undefined) {
      return (_view, slots) => {
        const v = item(slots);
        return v === undefined || v === '' ? [] : [v];
      };
    }
    const component = p.component;
    const sub = p.subcomponent ?? 1;
    return (_view, slots) => {
      const v = matchOf(item(slots) as Repetition | undefined, p.conditions, component, sub);
      return v === undefined ? [] : [v];
    };
  }
  if (rebound) {
    return (view, slots) => {
      const seg = rebound(slots) as Segment | undefined;
      return (seg === undefined ? undefined : within(seg, undefined, view.separators)) ?? [];
    };
  }
  const occurrence = p.occurrence;
  const segmentsOf = lastSegmentsReader(p.segment as string);
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

/**
 * Like compileHl7Path (same checks, same matches) but returns only the first match, or
 * undefined: what a value needs, without building a list per read.
 */
export function compileHl7PathFirst(p: Hl7Path, itemLevel: Hl7Level | undefined, readItem: ReadItem | undefined, rebound: ReadItem | undefined): FirstReader {
  checkItemUse(p, itemLevel, readItem);
  const within = compileWithinSegment(p).first;
  if (p.relative) {
    const item = readItem as ReadItem;
    if (itemLevel === 'segment') {
      return (view, slots) => {
        const seg = item(slots) as Segment | undefined;
        return seg === undefined ? undefined : within(seg, view.separators);
      };
    }
    if (p.component === undefined) {
      return (_view, slots) => {
        const v = item(slots);
        return v === '' ? undefined : v;
      };
    }
    const component = p.component;
    const sub = p.subcomponent ?? 1;
    return (_view, slots) => matchOf(item(slots) as Repetition | undefined, p.conditions, component, sub);
  }
  if (rebound) {
    return (view, slots) => {
      const seg = rebound(slots) as Segment | undefined;
      return seg === undefined ? undefined : within(seg, view.separators);
    };
  }
  const occurrence = p.occurrence;
  const segmentsOf = lastSegmentsReader(p.segment as string);
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

/** What a path read needs from a mapping's run: the message and the run's slots. */
export interface PathContext {
  hl7?: SegmentSource;
  slots: unknown[];
}

/**
 * compileHl7PathFirst as one function of the run: undefined without a message. The two reads
 * a mapping makes most, a loop item's component (`@.4`) and a component of a segment not
 * looped over (`PID-5.1`), are read in that one function rather than through a path reader and
 * a segment reader each (the same matches: see compileHl7PathFirst and compileWithinSegment).
 */
export function compileHl7FirstOfRun(p: Hl7Path, itemLevel: Hl7Level | undefined, itemSlot: number | undefined, reboundSlot: number | undefined): (ctx: PathContext) => unknown {
  const readItem = itemSlot === undefined ? undefined : (slots: unknown[]) => slots[itemSlot];
  const rebound = reboundSlot === undefined ? undefined : (slots: unknown[]) => slots[reboundSlot];
  checkItemUse(p, itemLevel, readItem);
  const { field, component, conditions } = p;
  const sub = p.subcomponent ?? 1;
  if (p.relative && itemLevel === 'repetition' && component !== undefined && itemSlot !== undefined) {
    return (ctx) => (ctx.hl7 === undefined ? undefined : matchOf(ctx.slots[itemSlot] as Repetition | undefined, conditions, component, sub));
  }
  if (!p.relative && !rebound && p.occurrence === undefined && field !== undefined && component !== undefined && conditions.length === 0) {
    const from = p.repetition === undefined ? 0 : p.repetition - 1;
    const last = p.repetition ?? Infinity;
    const within = compileWithinSegment(p).first;
    const segmentsOf = lastSegmentsReader(p.segment as string);
    return (ctx) => {
      const view = ctx.hl7;
      if (view === undefined) return undefined;
      const segs = segmentsOf(view);
      if (segs === undefined) return undefined;
      const seps = view.separators;
      for (let i = 0; i < segs.length; i++) {
        const seg = segs[i];
        const text = seg[field];
        let v: unknown;
        if (typeof text === 'string') v = text.length === 0 ? undefined : leavesOfText(text, from, last, component, sub, seps, undefined, true);
        else v = within(seg, seps);
        if (v !== undefined) return v;
      }
      return undefined;
    };
  }
  const first = compileHl7PathFirst(p, itemLevel, readItem, rebound);
  return (ctx) => (ctx.hl7 === undefined ? undefined : first(ctx.hl7, ctx.slots));
}

/** Read a `$where` key: a component reference such as `CX.5`, `5`, `5.2` (repetition items) or `3.1` (segment items). */
export function compileHl7ItemKey(key: string, itemLevel: Hl7Level): (item: unknown) => string {
  if (itemLevel === 'segment') {
    const m = /^(\d+)(?:\.(\d+)(?:\.(\d+))?)?$/.exec(key);
    if (!m) throw new Error(`where key "${key}" must be a field reference such as 6 or 3.1 for segment items`);
    const field = Number(m[1]);
    const component = m[2] ? Number(m[2]) : 1;
    const sub = m[3] ? Number(m[3]) : 1;
    if (field < 1 || component < 1 || sub < 1) throw new Error(`where key "${key}": positions are 1-based`);
    return (item) => {
      const f = (item as Segment)[field];
      const rep = f?.[0];
      return rep ? leaf(rep, component, sub) : '';
    };
  }
  if (itemLevel === 'repetition') {
    const ref = parseComponentRef(key);
    if (!ref) throw new Error(`where key "${key}" must be a component reference such as CX.5 or 5 (1-based)`);
    const { component, subcomponent } = ref;
    return (item) => leaf(item as Repetition, component, subcomponent);
  }
  if (key !== '@') throw new Error(`where key "${key}": text values can only be tested with the key "@"`);
  return (item) => (typeof item === 'string' ? item : '');
}
