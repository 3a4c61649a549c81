// Bytes → text for HL7 v2. MSH-18 names the character set, and MSH itself is ASCII, so we
// read MSH-18 from the raw bytes first and then decode the whole message with iconv-lite.
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { ParseError } from '../../core/errors.js';
import { peekMshFields } from './peek.js';

export interface DecodedHl7 {
  text: string;
  /** iconv-lite encoding used, e.g. `utf8`, `latin1`. */
  encoding: string;
  /** MSH-18 as found ('' when absent). */
  declared: string;
  /** Set when MSH-18 was not understood and UTF-8 was used instead, or a fallback was used. */
  note?: string;
}

export interface DecodeOptions {
  /**
   * Refuse bytes that are not valid in the character set used (ParseError, HL7 code 102)
   * instead of decoding them to U+FFFD.
   */
  strict?: boolean;
  /**
   * iconv-lite encoding (e.g. `windows-1252`) for messages that claim UTF-8, or declare
   * nothing, but are not valid UTF-8. Only with `strict`.
   */
  fallback?: string;
}

// HL7 table 0211 values → iconv-lite names.
const CHARSETS: Record<string, string> = {
  '': 'utf8',
  ASCII: 'ascii',
  UNICODE: 'utf8',
  'UNICODE UTF-8': 'utf8',
  'UTF-8': 'utf8',
  'UNICODE UTF-16': 'utf16le',
  '8859/1': 'latin1',
  '8859/2': 'iso-8859-2',
  '8859/3': 'iso-8859-3',
  '8859/4': 'iso-8859-4',
  '8859/5': 'iso-8859-5',
  '8859/6': 'iso-8859-6',
  '8859/7': 'iso-8859-7',
  '8859/8': 'iso-8859-8',
  '8859/9': 'iso-8859-9',
  '8859/15': 'iso-8859-15',
};

function startsWithUtf8Bom(buf: Buffer): boolean {
  return buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
}

/** MSH-18 (first repetition) read straight from the bytes; '' when absent or not an MSH. */
export function peekCharset(buf: Buffer): string {
  const fields = peekMshFields(buf);
  if (!fields) return '';
  const repetition = fields[2]?.charAt(1) || '~';
  return (fields[18] ?? '').split(repetition)[0].trim();
}

export function encodingFor(declared: string): string | undefined {
  return CHARSETS[declared.toUpperCase()];
}

function decodeAs(bytes: Buffer, encoding: string): string {
  // Buffer's own decoders are faster than iconv-lite for the common cases.
  return encoding === 'utf8' ? bytes.toString('utf8') : encoding === 'latin1' ? bytes.toString('latin1') : iconv.decode(bytes, encoding);
}

function charsetError(what: string): ParseError {
  return new ParseError(`${what}; declare the character set in MSH-18 or configure the channel's charset`, 'MSH-18', '102');
}

/**
 * Decode HL7 bytes per MSH-18 (UTF-8 when absent or unknown), dropping a UTF-8 BOM. Lenient
 * by default (invalid bytes become U+FFFD: for showing stored messages); intake uses strict.
 */
export function decodeHl7Bytes(buf: Buffer, options: DecodeOptions = {}): DecodedHl7 {
  const declared = peekCharset(buf);
  let encoding = encodingFor(declared);
  let note: string | undefined;
  if (encoding === undefined) {
    encoding = 'utf8';
    note = `MSH-18 character set "${declared}" not supported; decoded as UTF-8`;
  }
  const bytes = startsWithUtf8Bom(buf) ? buf.subarray(3) : buf;
  if (!options.strict) return { text: decodeAs(bytes, encoding), encoding, declared, note };
  if (encoding === 'utf8' && !isUtf8(bytes)) {
    if (!options.fallback) {
      throw charsetError(
        !declared
          ? 'Message is not valid UTF-8 and MSH-18 declares no character set'
          : note
            ? 'Message is not valid UTF-8 and its MSH-18 character set is not supported'
            : 'Message is not valid in the MSH-18 character set (UTF-8)',
      );
    }
    encoding = options.fallback;
    note = `not valid UTF-8; decoded as ${encoding} (channel charset)`;
  }
  const text = decodeAs(bytes, encoding);
  // iconv-lite decodes bytes its table does not define (0x81 in windows-1252) to U+FFFD.
  if (encoding !== 'utf8' && encoding !== 'latin1' && text.includes('\ufffd')) {
    throw charsetError(`Message has bytes not defined in character set ${encoding}`);
  }
  return { text, encoding, declared, note };
}

/**
 * For showing a stored message to a person (API, CLI): decoded as the intake would, and when
 * the bytes do not decode cleanly (e.g. a message rejected for its character set), decoded
 * leniently with a note that says so: a replacement character is never shown unannounced.
 */
export function decodeForDisplay(buf: Buffer, fallback?: string): DecodedHl7 {
  try {
    return decodeHl7Bytes(buf, { strict: true, fallback });
  } catch (err) {
    return { ...decodeHl7Bytes(buf), note: `${(err as Error).message}; bytes that are not valid are shown as U+FFFD` };
  }
}

/** Encode text for sending, per its MSH-18 (the inverse of decodeHl7Bytes). */
export function encodeHl7Text(text: string, declared = ''): Buffer {
  const encoding = encodingFor(declared) ?? 'utf8';
  return encoding === 'utf8' ? Buffer.from(text, 'utf8') : iconv.encode(text, encoding);
}
