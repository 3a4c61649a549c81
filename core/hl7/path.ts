// HL7 field notation: the one grammar for HL7 v2 paths, read by the mapping language
// (mappings/README.md, "Paths") and by the message accessors (Hl7Message.get, ACK locations).
//
//   PID-5            field 5 of PID               PID-5.1 / PID-5.1.2  component / subcomponent
//   PID-3[2]         the 2nd repetition           PID-3[*]             every repetition
//   NK1[2]-2         field 2 of the 2nd NK1       NK1                  the NK1 segment(s)
//   PID-3(CX.5=NH).1 component 1 of the repetitions whose component 5 is NH (also `!=` and
//                    `^=` starts-with; `;` joins conditions; the type prefix `CX.` is optional)
//   @  @-3.1  @.4    the current loop item of a mapping (a segment, a repetition or a value)
//
// Every number is 1-based. This module only parses: what a path yields (one value, every
// match) is up to its reader. Two options serve the message accessors, which took a simpler
// notation before there was one grammar: `PID.3` for `PID-3`, and one position only.
import { ParseError } from '../errors.js';

export interface Hl7Condition {
  component: number;
  subcomponent: number;
  op: '=' | '!=' | '^=';
  value: string;
}

export interface Hl7Path {
  /** `@` paths read a mapping's innermost loop item. */
  relative: boolean;
  segment?: string;
  /** 1-based; undefined when not given or `[*]`. */
  occurrence?: number;
  /** 1-based; undefined = the whole segment (or loop item). */
  field?: number;
  /** 1-based; undefined when not given or `[*]`. */
  repetition?: number;
  /** Filters on the field's repetitions (`(CX.5=NH)`); empty when none. */
  conditions: readonly Hl7Condition[];
  component?: number;
  subcomponent?: number;
}

export interface Hl7PathOptions {
  /** Accept `PID.3` as `PID-3` (a `.` right after the segment id or its `[n]`). */
  dotAfterSegment?: boolean;
  /** One position only: refuse `[*]`, filters and `@`, which name several or need a loop. */
  onePosition?: boolean;
}

const EXAMPLES = 'e.g. PID-3, PID-5.1, PID-3[2], PID-3(CX.5=NH).1, NK1[2]-2';
const NO_CONDITIONS: readonly Hl7Condition[] = Object.freeze([]);
const CONDITION = /^(?:[A-Z][A-Z0-9]{1,3}\.)?(\d+)(?:\.(\d+))?\s*(=|!=|\^=)\s*(.*)$/;
const COMPONENT_REF = /^(?:[A-Z][A-Z0-9]{1,3}\.)?(\d+)(?:\.(\d+))?$/;

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isIdChar(c: string): boolean {
  return (c >= 'A' && c <= 'Z') || isDigit(c);
}

/** Reads one path left to right; every failure names the path and what is wrong there. */
class PathReader {
  i = 0;
  /** Set when `[*]` was written (refused with onePosition). */
  wildcard = false;

  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  fail(what: string): never {
    throw new ParseError(`HL7 path "${this.path}": ${what}`, this.path);
  }

  get rest(): string {
    return this.text.slice(this.i);
  }

  peek(): string {
    return this.text.charAt(this.i);
  }

  atEnd(): boolean {
    return this.i >= this.text.length;
  }

  number(what: string): number {
    const start = this.i;
    while (isDigit(this.peek())) this.i++;
    if (this.i === start) {
      this.fail(this.atEnd() ? `ends where a ${what} number should be` : `expected a ${what} number at "${this.rest}"`);
    }
    const n = Number(this.text.slice(start, this.i));
    if (n < 1) this.fail(`${what} 0: positions are 1-based`);
    return n;
  }

  /** `[n]` or `[*]` when present; undefined for `[*]` and when absent. */
  index(what: string): number | undefined {
    if (this.peek() !== '[') return undefined;
    this.i++;
    let n: number | undefined;
    if (this.peek() === '*') {
      this.i++;
      this.wildcard = true;
    } else {
      n = this.number(what);
    }
    if (this.peek() !== ']') this.fail(`"[" after a ${what} needs a number or * and "]"`);
    this.i++;
    return n;
  }

  conditions(): readonly Hl7Condition[] {
    if (this.peek() !== '(') return NO_CONDITIONS;
    const close = this.text.indexOf(')', this.i);
    const inner = close < 0 ? this.text.slice(this.i + 1) : this.text.slice(this.i + 1, close);
    if (close < 0 || inner.includes('(')) this.fail('a filter is one "(…)" after the field, e.g. PID-3(CX.5=NH)');
    this.i = close + 1;
    return inner.split(';').map((part) => {
      const m = CONDITION.exec(part.trim());
      if (!m) this.fail(`filter "${part}" must look like CX.5=NH (operators =, !=, ^=)`);
      const component = Number(m[1]);
      const subcomponent = m[2] ? Number(m[2]) : 1;
      if (component < 1 || subcomponent < 1) this.fail(`filter "${part}": positions are 1-based`);
      return { component, subcomponent, op: m[3] as Hl7Condition['op'], value: m[4].trim() };
    });
  }

  /** `.c` and `.c.s` after a field (or `@`). */
  components(p: Hl7Path): void {
    if (this.peek() !== '.') return;
    this.i++;
    p.component = this.number('component');
    if (this.peek() !== '.') return;
    this.i++;
    p.subcomponent = this.number('subcomponent');
  }

  /** Field number, repetition, filter and components after `-`. */
  field(p: Hl7Path): void {
    p.field = this.number('field');
    p.repetition = this.index('repetition');
    p.conditions = this.conditions();
    this.components(p);
  }

  end(p: Hl7Path): void {
    if (this.atEnd()) return;
    const c = this.peek();
    if (c === '(') this.fail('a filter follows a field, e.g. PID-3(CX.5=NH)');
    if (c === '.' && p.subcomponent !== undefined) this.fail(`unexpected "${this.rest}": a path ends at the subcomponent`);
    this.fail(`unexpected "${this.rest}" (${EXAMPLES})`);
  }
}

/** Parse HL7 field notation; throws ParseError (location: the path) saying what is wrong. */
export function parseHl7Path(path: string, options: Hl7PathOptions = {}): Hl7Path {
  const text = path.trim();
  const r = new PathReader(path, text);
  if (text === '') r.fail(`is empty (${EXAMPLES})`);
  const p: Hl7Path = {
    relative: false,
    segment: undefined,
    occurrence: undefined,
    field: undefined,
    repetition: undefined,
    conditions: NO_CONDITIONS,
    component: undefined,
    subcomponent: undefined,
  };
  if (text.charAt(0) === '@') {
    if (options.onePosition) r.fail('"@" (a mapping\'s loop item) needs a $forEach; name a segment here, e.g. PID-3');
    p.relative = true;
    r.i = 1;
    if (r.peek() === '-') {
      r.i++;
      r.field(p);
    } else {
      if (r.peek() === '(' || r.peek() === '[') r.fail('a filter or repetition follows a field, e.g. @-3(CX.5=NH) or @-3[2]');
      r.components(p);
    }
    r.end(p);
    return p;
  }
  const id = text.slice(0, 3);
  if (id.length < 3 || !isIdChar(id[0]) || !isIdChar(id[1]) || !isIdChar(id[2]) || isIdChar(text.charAt(3))) {
    r.fail(/^[A-Za-z0-9]{3}(?![A-Za-z0-9])/.test(text) ? 'a segment id is 3 upper-case letters or digits, e.g. PID' : `does not start with a segment id (${EXAMPLES})`);
  }
  p.segment = id;
  r.i = 3;
  p.occurrence = r.index('segment occurrence');
  const sep = r.peek();
  if (sep === '-' || (sep === '.' && options.dotAfterSegment)) {
    r.i++;
    r.field(p);
  } else if (sep === '.') {
    r.fail(`write ${text.slice(0, r.i)}-${text.slice(r.i + 1)}: "-" comes before the field number, "." before a component`);
  } else if (sep === '(') {
    r.fail('a filter needs a field, e.g. PID-3(CX.5=NH)');
  }
  r.end(p);
  if (options.onePosition) {
    if (r.wildcard) r.fail('[*] names every occurrence or repetition; this reads one position, e.g. PID-3[2]');
    if (p.conditions.length) r.fail('a filter can match several repetitions; this reads one position, e.g. PID-3[2]');
  }
  return p;
}

/** A component reference as in filters and `$where` keys: `CX.5`, `5`, `5.2`; undefined when it is not one. */
export function parseComponentRef(text: string): { component: number; subcomponent: number } | undefined {
  const m = COMPONENT_REF.exec(text);
  if (!m) return undefined;
  const component = Number(m[1]);
  const subcomponent = m[2] ? Number(m[2]) : 1;
  if (component < 1 || subcomponent < 1) return undefined;
  return { component, subcomponent };
}
