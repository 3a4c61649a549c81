// Structural limits on an HL7 v2 message, checked at intake before anything reads fields
// (parseHl7 applies the segment and MSH field limits while it splits).
// Parsing is lazy, so the cost of a hostile message (a million empty PID-3 repetitions in
// 1 MB) lands on whoever reads the field: one array per repetition. Real messages stay far
// below these limits, so a segment shorter than the smallest per-segment limit cannot break
// any of them and is not looked at: for ordinary messages the check is one length comparison
// per segment.
import { ParseError } from '../../core/errors.js';
import type { Hl7Message } from '../../core/hl7/message.js';

export interface Hl7Limits {
  /** Segments per message. */
  segments: number;
  /** Fields per segment. */
  fieldsPerSegment: number;
  /** Repetitions per field. */
  repetitionsPerField: number;
  /** Components and subcomponents in one field, all repetitions together. */
  componentsPerField: number;
}

// ADT and ORU messages need tens of fields, a few repetitions and at most some thousands of
// segments (one OBX per report line); these leave ample room and still bound the work.
export const DEFAULT_HL7_LIMITS: Readonly<Hl7Limits> = {
  segments: 10_000,
  fieldsPerSegment: 500,
  repetitionsPerField: 1_000,
  componentsPerField: 5_000,
};

/** HL7 table 0357 code sent in ERR-3 for a message over a limit: the data is not acceptable. */
const DATA_ERROR = '102';

function limitError(what: string, location: string, limit: number): ParseError {
  return new ParseError(`${what} exceeds the limit of ${limit}`, location, DATA_ERROR);
}

export function segmentLimitError(limit: number): ParseError {
  return limitError('Number of segments', `segment ${limit + 1}`, limit);
}

/** `name`: the segment as in an HL7 location (`PID`, `OBX[2]`). */
export function fieldLimitError(name: string, limit: number): ParseError {
  return limitError(`Number of fields in ${name}`, name, limit);
}

const separatorPatterns = new Map<string, RegExp>();

function separatorPattern(chars: string): RegExp {
  let re = separatorPatterns.get(chars);
  if (!re) {
    re = new RegExp(`[${chars.replace(/[\\\]^-]/g, '\\$&')}]`, 'g');
    separatorPatterns.set(chars, re);
  }
  return re;
}

/** Throws ParseError naming the segment or field (never a value) when a limit is exceeded. */
export function checkHl7Limits(msg: Hl7Message, limits: Hl7Limits = DEFAULT_HL7_LIMITS): void {
  if (msg.segmentCount > limits.segments) throw segmentLimitError(limits.segments);
  const shortest = Math.min(limits.fieldsPerSegment, limits.repetitionsPerField, limits.componentsPerField);
  const s = msg.separators;
  for (let i = 0; i < msg.segmentCount; i++) {
    const line = msg.segmentText(i);
    // Each field, repetition or component past the first needs a separator character.
    if (line.length - 3 >= shortest) checkSegment(line, msg.segmentIds[i], segmentName(msg, i), s.field + s.repetition + s.component + s.subcomponent, limits);
  }
}

/** `PID`, or `OBX[3]` for the third OBX: the segment part of an HL7 location. */
function segmentName(msg: Hl7Message, index: number): string {
  const id = msg.segmentIds[index];
  let occurrence = 0;
  for (let i = 0; i <= index; i++) if (msg.segmentIds[i] === id) occurrence++;
  return occurrence > 1 ? `${id}[${occurrence}]` : id;
}

function checkSegment(line: string, id: string, name: string, separators: string, limits: Hl7Limits): void {
  const [F, R] = separators;
  const isMsh = id === 'MSH';
  // HL7 numbers MSH fields from the field separator itself (MSH-1), so the separator after
  // MSH-2 starts MSH-3.
  let field = isMsh ? 2 : 0;
  let repetitions = 1;
  let components = 1;
  const re = separatorPattern(separators);
  re.lastIndex = 3;
  // MSH-2 holds the encoding characters literally: its separators are not separators.
  if (isMsh) {
    const encEnd = line.indexOf(F, 4);
    if (encEnd < 0) return;
    re.lastIndex = encEnd;
  }
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    const c = m[0];
    if (c === F) {
      if (++field > limits.fieldsPerSegment) throw fieldLimitError(name, limits.fieldsPerSegment);
      repetitions = 1;
      components = 1;
    } else if (c === R) {
      if (++repetitions > limits.repetitionsPerField) throw limitError(`Number of repetitions of ${name}-${field}`, `${name}-${field}`, limits.repetitionsPerField);
    } else if (++components > limits.componentsPerField) {
      throw limitError(`Number of components of ${name}-${field}`, `${name}-${field}`, limits.componentsPerField);
    }
  }
}

// C0 control characters have no place in HL7 text (segments end with CR; LF and TAB are
// tolerated). A NUL in particular cannot be stored in a PostgreSQL text column.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;

/** Throws ParseError naming the field (never the value) that holds a control character. */
export function checkControlCharacters(text: string, msg: Hl7Message): void {
  if (!CONTROL_CHAR.test(text)) return;
  const F = msg.separators.field;
  for (let i = 0; i < msg.segmentCount; i++) {
    const line = msg.segmentText(i);
    const at = line.search(CONTROL_CHAR);
    if (at < 0) continue;
    let field = msg.segmentIds[i] === 'MSH' ? 1 : 0;
    for (let p = line.indexOf(F); p >= 0 && p < at; p = line.indexOf(F, p + 1)) field++;
    const name = segmentName(msg, i);
    const location = field > 0 ? `${name}-${field}` : name;
    const code = line.charCodeAt(at).toString(16).padStart(2, '0').toUpperCase();
    throw new ParseError(`${location} contains control character 0x${code}, not allowed in HL7 text`, location, DATA_ERROR);
  }
  // Only in blank lines, which are not segments: nothing is kept from them.
}
