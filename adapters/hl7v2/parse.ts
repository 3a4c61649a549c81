// The HL7 v2 wire format → core's Hl7Message. Parsing only finds segment boundaries, checks
// segment ids and splits MSH; the message splits other segments into fields the first time
// they are read (core/hl7/message.ts). See adapters/hl7v2/README.md for the API.
import { ParseError } from '../../core/errors.js';
import type { Separators } from '../../core/hl7/escape.js';
import { Hl7Message } from '../../core/hl7/message.js';
import { fieldLimitError, segmentLimitError } from './limits.js';

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

function splitLines(text: string, limit?: number): string[] {
  // Fast path for the standard CR-only message; anything else goes through the regex.
  return text.indexOf('\n') < 0 ? text.split('\r', limit) : text.split(/\r\n|\r|\n/, limit);
}

function allDistinct(chars: string): boolean {
  for (let i = 1; i < chars.length; i++) if (chars.lastIndexOf(chars[i], i - 1) >= 0) return false;
  return true;
}

const NOT_A_DELIMITER = /[A-Za-z0-9\s]/;

/**
 * MSH-1 and MSH-2. The standard's MSH-2 is four encoding characters (component, repetition,
 * escape, subcomponent), or five from v2.7 (the truncation character, usually `#`). Real
 * feeds also send more, e.g. `^~\&^~\&` from a PAS that writes the header twice: when the
 * first four are distinct delimiters they are taken, a fifth that is a new delimiter is the
 * truncation character, and anything after is ignored with a warning. Only a header whose
 * first four characters do not name four distinct delimiters is refused: that is ambiguous.
 */
function separatorsFrom(first: string, warnings: string[]): Separators {
  if (first.length < 4) throw new ParseError('MSH segment is too short to declare separators', 'MSH-1');
  const field = first.charAt(3);
  if (NOT_A_DELIMITER.test(field)) throw new ParseError('MSH-1 (field separator) is missing or not a delimiter', 'MSH-1');
  const end = first.indexOf(field, 4);
  const enc = end < 0 ? first.slice(4) : first.slice(4, end);
  if (enc.length < 4) throw new ParseError('MSH-2 must hold at least 4 encoding characters', 'MSH-2');
  const four = enc.slice(0, 4);
  if (!allDistinct(four + field) || NOT_A_DELIMITER.test(four)) {
    throw new ParseError('MSH-2 encoding characters must be distinct delimiters', 'MSH-2');
  }
  const fifth = enc.charAt(4);
  const truncation = fifth !== '' && allDistinct(four + field + fifth) && !NOT_A_DELIMITER.test(fifth) ? fifth : undefined;
  const used = truncation === undefined ? 4 : 5;
  if (enc.length > used) {
    warnings.push(`MSH-2 holds ${enc.length} characters; the first ${used} are used as encoding characters and the rest ignored`);
  }
  return {
    field,
    component: four.charAt(0),
    repetition: four.charAt(1),
    escape: four.charAt(2),
    subcomponent: four.charAt(3),
    truncation,
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
  const warnings: string[] = [];
  const seps = separatorsFrom(first, warnings);

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
  return new Hl7Message(lines, seps, parts, ids, warnings);
}
