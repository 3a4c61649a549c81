// Lazy HL7 v2 tokenizer. Parsing only finds segment boundaries, checks segment ids and
// splits MSH; other segments are split into fields the first time they are read, and values
// are unescaped only when returned. See adapters/hl7v2/README.md for the API and the JSON view.
import { ParseError } from '../../core/errors.js';
import { unescapeHl7, type Separators } from './escape.js';
import { fieldLimitError, segmentLimitError } from './limits.js';
import { parseHl7Path, type Hl7Path } from './path.js';

export type { Separators } from './escape.js';

/** Decoded MSH values most callers need (component 1 of each HD field, unescaped). */
export interface Hl7Header {
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** MSH-7 as written. */
  dateTime: string;
  messageType: string;
  triggerEvent: string;
  structure: string;
  controlId: string;
  processingId: string;
  version: string;
  acceptAckType: string;
  applicationAckType: string;
  /** MSH-18 first repetition, e.g. `8859/1`, `UNICODE UTF-8`; '' when absent. */
  charset: string;
}

/** `Component = string[]` (subcomponents), `Repetition = Component[]`, `Field = Repetition[]`. */
export type Component = string[];
export type Repetition = Component[];
export type Field = Repetition[];
/** Indexed by HL7 field number; index 0 holds the segment id as `[[[id]]]`. */
export type Segment = Field[];
/** Segments keyed by id, in order of appearance. */
export type Hl7View = Record<string, Segment[]>;

const BOM = 0xfeff;

function isSegmentIdChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0c) return false;
  }
  return true;
}

/** The n-th (1-based) part of `text` split on `sep`, without allocating the other parts. */
function nthPart(text: string, sep: string, n: number): string {
  let start = 0;
  for (let i = 1; i < n; i++) {
    const next = text.indexOf(sep, start);
    if (next < 0) return '';
    start = next + 1;
  }
  const end = text.indexOf(sep, start);
  return end < 0 ? text.slice(start) : text.slice(start, end);
}

function splitLines(text: string, limit?: number): string[] {
  // Fast path for the standard CR-only message; anything else goes through the regex.
  return text.indexOf('\n') < 0 ? text.split('\r', limit) : text.split(/\r\n|\r|\n/, limit);
}

/** One segment of a parsed message; reads are lazy like the message's. */
export class Hl7Segment {
  constructor(private readonly msg: Hl7Message, readonly index: number) {}

  get id(): string {
    return this.msg.segmentIds[this.index];
  }

  /** The segment text as received (segment terminator removed). */
  get raw(): string {
    return this.msg.segmentText(this.index);
  }

  /** Number of the last field present (trailing empty fields count if written). */
  get fieldCount(): number {
    return this.msg.fieldsOf(this.index).length - 1;
  }

  /** Encoded text of field `n` (all repetitions), '' when absent. */
  field(n: number): string {
    return this.msg.fieldsOf(this.index)[n] ?? '';
  }

  /** `seg.get('3[2].1')` — same rules as Hl7Message.get, relative to this segment. */
  get(fieldPath: string | number): string | undefined {
    return this.msg.read(this.index, parseHl7Path(`${this.id}-${fieldPath}`));
  }

  getAll(fieldPath: string | number): string[] {
    return this.msg.readAll(this.index, parseHl7Path(`${this.id}-${fieldPath}`));
  }
}

// Where each Hl7Header value is, parsed once: every message's header is read.
const HEADER_PATHS: Record<keyof Hl7Header, Hl7Path> = {
  sendingApplication: parseHl7Path('MSH-3'),
  sendingFacility: parseHl7Path('MSH-4'),
  receivingApplication: parseHl7Path('MSH-5'),
  receivingFacility: parseHl7Path('MSH-6'),
  dateTime: parseHl7Path('MSH-7'),
  messageType: parseHl7Path('MSH-9.1'),
  triggerEvent: parseHl7Path('MSH-9.2'),
  structure: parseHl7Path('MSH-9.3'),
  controlId: parseHl7Path('MSH-10'),
  processingId: parseHl7Path('MSH-11'),
  version: parseHl7Path('MSH-12'),
  acceptAckType: parseHl7Path('MSH-15'),
  applicationAckType: parseHl7Path('MSH-16'),
  charset: parseHl7Path('MSH-18'),
};

export class Hl7Message {
  /** Segment ids in order of appearance. */
  readonly segmentIds: readonly string[];
  private readonly fieldCache: (string[] | undefined)[];
  private headerCache?: Hl7Header;

  /** @internal use parseHl7() */
  constructor(
    private readonly lines: string[],
    readonly separators: Separators,
    mshFields: string[],
    segmentIds: string[],
  ) {
    this.segmentIds = segmentIds;
    this.fieldCache = new Array<string[] | undefined>(lines.length);
    this.fieldCache[0] = mshFields;
  }

  get segmentCount(): number {
    return this.lines.length;
  }

  /** The message with segments joined by CR (the HL7 terminator), no trailing CR. */
  toString(): string {
    return this.lines.join('\r');
  }

  segmentText(index: number): string {
    return this.lines[index];
  }

  /**
   * Fields of segment `index`, indexed by HL7 field number (index 0 = segment id). For MSH,
   * index 1 is the field separator and index 2 the encoding characters.
   */
  fieldsOf(index: number): string[] {
    let fields = this.fieldCache[index];
    if (fields === undefined) {
      fields = this.lines[index].split(this.separators.field);
      // A repeated MSH (batches) numbers its fields like the first one.
      if (this.segmentIds[index] === 'MSH') fields.splice(1, 1, this.separators.field, fields[1]);
      this.fieldCache[index] = fields;
    }
    return fields;
  }

  /** Index of the n-th (1-based) segment with this id, or -1. */
  indexOf(segmentId: string, occurrence = 1): number {
    const ids = this.segmentIds;
    let seen = 0;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === segmentId && ++seen === occurrence) return i;
    }
    return -1;
  }

  /** All segments with this id (or every segment when no id is given), in order. */
  segments(segmentId?: string): Hl7Segment[] {
    const out: Hl7Segment[] = [];
    for (let i = 0; i < this.segmentIds.length; i++) {
      if (segmentId === undefined || this.segmentIds[i] === segmentId) out.push(new Hl7Segment(this, i));
    }
    return out;
  }

  segment(segmentId: string, occurrence = 1): Hl7Segment | undefined {
    const i = this.indexOf(segmentId, occurrence);
    return i < 0 ? undefined : new Hl7Segment(this, i);
  }

  /**
   * One decoded value. Missing repetition/component/subcomponent numbers default to 1, so
   * `get('PID-5')` is the family name and `get('PID-3[2].1')` the second identifier's id.
   * Returns undefined when the segment is absent, '' when the value is empty.
   */
  get(path: string): string | undefined {
    const p = parseHl7Path(path);
    const i = this.indexOf(p.segment, p.occurrence);
    return i < 0 ? undefined : this.read(i, p);
  }

  /** The addressed value for every repetition of the field (`getAll('PID-3.5')` → `['NH','MR']`). */
  getAll(path: string): string[] {
    const p = parseHl7Path(path);
    const i = this.indexOf(p.segment, p.occurrence);
    return i < 0 ? [] : this.readAll(i, p);
  }

  /**
   * Encoded text at the addressed level with separators and escapes kept, e.g.
   * `getRaw('PID-3')` is the whole field with all repetitions; `getRaw('PID')` the segment.
   */
  getRaw(path: string): string | undefined {
    const p = parseHl7Path(path);
    const i = this.indexOf(p.segment, p.occurrence);
    if (i < 0) return undefined;
    if (p.field === 0) return this.lines[i];
    let text = this.fieldsOf(i)[p.field] ?? '';
    if (this.isMshLiteral(i, p.field)) return text;
    const s = this.separators;
    if (p.repetition !== undefined || p.component !== undefined) text = nthPart(text, s.repetition, p.repetition ?? 1);
    if (p.component !== undefined) text = nthPart(text, s.component, p.component);
    if (p.subcomponent !== undefined) text = nthPart(text, s.subcomponent, p.subcomponent);
    return text;
  }

  /** @internal */
  read(index: number, p: Hl7Path): string {
    const fields = this.fieldsOf(index);
    if (p.field === 0) return this.segmentIds[index];
    const text = fields[p.field];
    if (text === undefined || text === '') return '';
    if (this.isMshLiteral(index, p.field)) return text;
    return this.leaf(nthPart(text, this.separators.repetition, p.repetition ?? 1), p);
  }

  /** @internal */
  readAll(index: number, p: Hl7Path): string[] {
    const fields = this.fieldsOf(index);
    if (p.field === 0) return [this.segmentIds[index]];
    const text = fields[p.field];
    if (text === undefined || text === '') return [];
    if (this.isMshLiteral(index, p.field)) return [text];
    if (p.repetition !== undefined) return [this.leaf(nthPart(text, this.separators.repetition, p.repetition), p)];
    return text.split(this.separators.repetition).map((rep) => this.leaf(rep, p));
  }

  private leaf(repetition: string, p: Hl7Path): string {
    const s = this.separators;
    const comp = nthPart(repetition, s.component, p.component ?? 1);
    const sub = nthPart(comp, s.subcomponent, p.subcomponent ?? 1);
    return unescapeHl7(sub, s);
  }

  /** MSH-1 and MSH-2 are the separators themselves: never split or unescaped. */
  private isMshLiteral(index: number, field: number): boolean {
    return field <= 2 && this.segmentIds[index] === 'MSH';
  }

  get header(): Hl7Header {
    if (this.headerCache) return this.headerCache;
    const h = HEADER_PATHS;
    this.headerCache = {
      sendingApplication: this.read(0, h.sendingApplication),
      sendingFacility: this.read(0, h.sendingFacility),
      receivingApplication: this.read(0, h.receivingApplication),
      receivingFacility: this.read(0, h.receivingFacility),
      dateTime: this.read(0, h.dateTime),
      messageType: this.read(0, h.messageType),
      triggerEvent: this.read(0, h.triggerEvent),
      structure: this.read(0, h.structure),
      controlId: this.read(0, h.controlId),
      processingId: this.read(0, h.processingId),
      version: this.read(0, h.version),
      acceptAckType: this.read(0, h.acceptAckType),
      applicationAckType: this.read(0, h.applicationAckType),
      charset: this.read(0, h.charset),
    };
    return this.headerCache;
  }

  get controlId(): string {
    return this.header.controlId;
  }
}

function allDistinct(chars: string): boolean {
  for (let i = 1; i < chars.length; i++) if (chars.lastIndexOf(chars[i], i - 1) >= 0) return false;
  return true;
}

function separatorsFrom(first: string): Separators {
  if (first.length < 4) throw new ParseError('MSH segment is too short to declare separators', 'MSH-1');
  const field = first.charAt(3);
  if (/[A-Za-z0-9\s]/.test(field)) throw new ParseError('MSH-1 (field separator) is missing or not a delimiter', 'MSH-1');
  const end = first.indexOf(field, 4);
  const enc = end < 0 ? first.slice(4) : first.slice(4, end);
  if (enc.length < 4) throw new ParseError('MSH-2 must hold at least 4 encoding characters', 'MSH-2');
  const chars = enc.slice(0, enc.length >= 5 ? 5 : 4);
  if (!allDistinct(chars + field) || /[A-Za-z0-9\s]/.test(chars)) {
    throw new ParseError('MSH-2 encoding characters must be distinct delimiters', 'MSH-2');
  }
  return {
    field,
    component: chars.charAt(0),
    repetition: chars.charAt(1),
    escape: chars.charAt(2),
    subcomponent: chars.charAt(3),
    truncation: chars.length >= 5 ? chars.charAt(4) : undefined,
  };
}

/**
 * Bounds on what parsing itself may split (see limits.ts for the rest): without them a 1 MB
 * message of separators becomes a million strings before anything can object.
 */
export interface ParseLimits {
  segments?: number;
  fieldsPerSegment?: number;
}

/** Parse HL7 v2 text; throws ParseError (with an HL7 location) when it is not a message. */
export function parseHl7(text: string, limits: ParseLimits = {}): Hl7Message {
  if (text.charCodeAt(0) === BOM) text = text.slice(1);
  const maxSegments = limits.segments;
  // Blank lines do not count as segments; allow one beside each (\r\r endings) before giving up.
  const maxLines = maxSegments === undefined ? undefined : 2 * maxSegments + 2;
  const raw = splitLines(text, maxLines);
  if (maxLines !== undefined && raw.length === maxLines) throw segmentLimitError(maxSegments!);
  // Blank lines (trailing ones are common in files) are not segments.
  let lines = raw;
  for (let i = 0; i < raw.length; i++) {
    const line = raw[i];
    if (line.length === 0 || (line.charCodeAt(0) <= 0x20 && isBlank(line))) {
      lines = raw.filter((l) => l.length > 0 && !(l.charCodeAt(0) <= 0x20 && isBlank(l)));
      break;
    }
  }
  if (lines.length === 0) throw new ParseError('Empty message', 'MSH');
  if (maxSegments !== undefined && lines.length > maxSegments) throw segmentLimitError(maxSegments);
  const first = lines[0];
  if (!first.startsWith('MSH')) throw new ParseError('Message does not start with an MSH segment', 'MSH');
  const seps = separatorsFrom(first);

  const ids = new Array<string>(lines.length);
  ids[0] = 'MSH';
  const fieldSep = seps.field;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (
      !isSegmentIdChar(line.charCodeAt(0)) ||
      !isSegmentIdChar(line.charCodeAt(1)) ||
      !isSegmentIdChar(line.charCodeAt(2)) ||
      (line.length > 3 && line.charAt(3) !== fieldSep)
    ) {
      throw new ParseError(`Segment ${i + 1} does not start with a 3-character segment id`, `segment ${i + 1}`);
    }
    ids[i] = line.slice(0, 3);
  }

  // MSH fields indexed by HL7 number: [id, MSH-1 separator, MSH-2, MSH-3, ...].
  // parts[k] is MSH-(k+1): MSH-1 is the separator itself.
  const maxFields = limits.fieldsPerSegment;
  const parts = first.split(fieldSep, maxFields === undefined ? undefined : maxFields + 1);
  if (maxFields !== undefined && parts.length > maxFields) throw fieldLimitError('MSH', maxFields);
  parts[0] = fieldSep;
  parts.unshift('MSH');
  const type = parts[9];
  if (type === undefined || type === '' || type.startsWith(seps.component)) {
    throw new ParseError('MSH-9 (message type) is missing', 'MSH-9');
  }
  if (parts[10] === undefined || parts[10] === '') throw new ParseError('MSH-10 (message control id) is missing', 'MSH-10');
  return new Hl7Message(lines, seps, parts, ids);
}

/** Segment ids in order of appearance (e.g. for structure checks). */
export function segmentOrder(msg: Hl7Message): string[] {
  return [...msg.segmentIds];
}

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

/** One segment's view: every field parsed (see readField). */
function segmentView(line: string, id: string, s: Separators): Segment {
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

/**
 * One segment's view whose fields are parsed when first read: until then an entry holds the
 * field's text. Read fields with fieldAt(); materializeSegment() parses all of them (do so
 * before handing the segment to code that indexes it directly).
 */
function lazySegmentView(msg: Hl7Message, index: number, id: string, s: Separators): LazySegment {
  if (id === 'MSH') {
    // MSH-1 is the field separator itself and MSH-2 the encoding characters, both literal.
    // The message split MSH when it was parsed: its fields are reused, not split again.
    const parts = msg.fieldsOf(index);
    const fields: LazySegment = [[[[id]]], [[[s.field]]], [[[parts[2] ?? '']]]];
    for (let n = 3; n < parts.length; n++) fields.push(parts[n]);
    return fields;
  }
  const fields: LazySegment = msg.segmentText(index).split(s.field);
  fields[0] = [[[id]]];
  return fields;
}

/** A segment view some of whose fields may still be text (see lazySegmentView). */
export type LazySegment = (Field | string)[];

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

/** Every segment with this id as a lazy view (undefined when the message has none). */
export function lazySegmentViews(msg: Hl7Message, id: string): LazySegment[] | undefined {
  let out: LazySegment[] | undefined;
  const ids = msg.segmentIds;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === id) (out ??= []).push(lazySegmentView(msg, i, id, msg.separators));
  }
  return out;
}

/** The documented JSON view mappings read (adapters/hl7v2/README.md). */
export function toView(msg: Hl7Message): Hl7View {
  const view: Hl7View = {};
  const s = msg.separators;
  for (let i = 0; i < msg.segmentCount; i++) {
    const id = msg.segmentIds[i];
    (view[id] ??= []).push(segmentView(msg.segmentText(i), id, s));
  }
  return view;
}
