// A parsed HL7 v2 message (adapters/hl7v2 parseHl7 builds it from text). Reads are lazy: a
// segment is split into fields the first time it is read, and values are unescaped only
// when returned. Paths are HL7 field notation (path.ts) read at one position.
import { unescapeHl7, type Separators } from './escape.js';
import { parseHl7Path, type Hl7Path } from './path.js';
import { visitSegmentValues, type Hl7ValueVisitor } from './values.js';

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

const ACCESSOR = { dotAfterSegment: true, onePosition: true } as const;
const pathCache = new Map<string, Hl7Path>();

/**
 * A path as the accessors read it (cached): `PID.3` is accepted for `PID-3`, as it always was
 * here, and only one position may be named. Throws ParseError on bad notation.
 */
export function accessorPath(path: string): Hl7Path {
  const hit = pathCache.get(path);
  if (hit) return hit;
  const parsed = parseHl7Path(path, ACCESSOR);
  if (pathCache.size < 10_000) pathCache.set(path, parsed);
  return parsed;
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
    return this.msg.read(this.index, accessorPath(`${this.id}-${fieldPath}`));
  }

  getAll(fieldPath: string | number): string[] {
    return this.msg.readAll(this.index, accessorPath(`${this.id}-${fieldPath}`));
  }

  /** Every decoded value of this segment in order, as Hl7Message.forEachValue gives them. */
  forEachValue(visit: Hl7ValueVisitor): void {
    visitSegmentValues(this.raw, this.id, this.msg.separators, this.index, visit);
  }
}

// Where each Hl7Header value is, parsed once: every message's header is read.
const HEADER_PATHS: Record<keyof Hl7Header, Hl7Path> = {
  sendingApplication: accessorPath('MSH-3'),
  sendingFacility: accessorPath('MSH-4'),
  receivingApplication: accessorPath('MSH-5'),
  receivingFacility: accessorPath('MSH-6'),
  dateTime: accessorPath('MSH-7'),
  messageType: accessorPath('MSH-9.1'),
  triggerEvent: accessorPath('MSH-9.2'),
  structure: accessorPath('MSH-9.3'),
  controlId: accessorPath('MSH-10'),
  processingId: accessorPath('MSH-11'),
  version: accessorPath('MSH-12'),
  acceptAckType: accessorPath('MSH-15'),
  applicationAckType: accessorPath('MSH-16'),
  charset: accessorPath('MSH-18'),
};

export class Hl7Message {
  /** Segment ids in order of appearance. */
  readonly segmentIds: readonly string[];
  private readonly fieldCache: (string[] | undefined)[];
  private headerCache?: Hl7Header;

  /**
   * @internal use parseHl7() (adapters/hl7v2), which checks the text: `lines` are the
   * segments, `mshFields` MSH split and numbered as fieldsOf() returns it.
   */
  constructor(
    private readonly lines: string[],
    readonly separators: Separators,
    mshFields: string[],
    segmentIds: string[],
    /** What parsing accepted but the sender should fix (e.g. extra characters in MSH-2), naming the field, never a value. */
    readonly warnings: readonly string[] = [],
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

  /**
   * Every decoded value in message order, with where it is: the values a walk of toView(msg)
   * meets, without building the view's arrays (reading every field this way costs a fraction
   * of building the view). Empty fields have no values; an empty component of a written field
   * is ''. `msg.forEachValue((v, seg, f, r, c, s) => …)`; `seg` indexes `segmentIds`.
   */
  forEachValue(visit: Hl7ValueVisitor): void {
    const ids = this.segmentIds;
    for (let i = 0; i < ids.length; i++) visitSegmentValues(this.lines[i], ids[i], this.separators, i, visit);
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
   * One decoded value. A missing segment occurrence, repetition, component or subcomponent
   * number is 1, so `get('PID-5')` is the family name and `get('PID-3[2].1')` the second
   * identifier's id. Returns undefined when the segment is absent, '' when the value is empty.
   */
  get(path: string): string | undefined {
    const p = accessorPath(path);
    const i = this.indexOf(p.segment as string, p.occurrence);
    return i < 0 ? undefined : this.read(i, p);
  }

  /** The addressed value for every repetition of the field (`getAll('PID-3.5')` → `['NH','MR']`). */
  getAll(path: string): string[] {
    const p = accessorPath(path);
    const i = this.indexOf(p.segment as string, p.occurrence);
    return i < 0 ? [] : this.readAll(i, p);
  }

  /**
   * Encoded text at the addressed level with separators and escapes kept, e.g.
   * `getRaw('PID-3')` is the whole field with all repetitions; `getRaw('PID')` the segment.
   */
  getRaw(path: string): string | undefined {
    const p = accessorPath(path);
    const i = this.indexOf(p.segment as string, p.occurrence);
    if (i < 0) return undefined;
    if (p.field === undefined) return this.lines[i];
    let text = this.fieldsOf(i)[p.field] ?? '';
    if (this.isMshLiteral(i, p.field)) return text;
    const s = this.separators;
    if (p.repetition !== undefined || p.component !== undefined) text = nthPart(text, s.repetition, p.repetition ?? 1);
    if (p.component !== undefined) text = nthPart(text, s.component, p.component);
    if (p.subcomponent !== undefined) text = nthPart(text, s.subcomponent, p.subcomponent);
    return text;
  }

  /** @internal the value at `p` (an accessorPath) in segment `index`. */
  read(index: number, p: Hl7Path): string {
    const fields = this.fieldsOf(index);
    if (p.field === undefined) return this.segmentIds[index];
    const text = fields[p.field];
    if (text === undefined || text === '') return '';
    if (this.isMshLiteral(index, p.field)) return text;
    return this.leaf(nthPart(text, this.separators.repetition, p.repetition ?? 1), p);
  }

  /** @internal the value at `p` (an accessorPath) in every repetition, in segment `index`. */
  readAll(index: number, p: Hl7Path): string[] {
    const fields = this.fieldsOf(index);
    if (p.field === undefined) return [this.segmentIds[index]];
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

/** Segment ids in order of appearance (e.g. for structure checks). */
export function segmentOrder(msg: Hl7Message): string[] {
  return [...msg.segmentIds];
}
