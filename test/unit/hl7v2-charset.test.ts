import { describe, expect, test } from '@jest/globals';
import { decodeForDisplay, decodeHl7Bytes, encodeHl7Text, peekCharset } from '../../adapters/hl7v2/charset.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { ParseError } from '../../core/errors.js';

function msh(charset: string): string {
  return `MSH|^~\\&|PAS|RX1|TRAMLINE|LA123|20260105093000||ADT^A08^ADT_A01|C1|P|2.4|||AL|NE|GBR|${charset}|EN`;
}
const pid = 'PID|1||9912003888^^^NHS^NH||Müller^Zoë||19800202|2';

describe('charset', () => {
  test('8859/1 bytes decode as Latin-1', () => {
    const bytes = Buffer.from(`${msh('8859/1')}\r${pid}\r`, 'latin1');
    expect(bytes.includes(Buffer.from([0xfc]))).toBe(true); // ü is one byte
    const decoded = decodeHl7Bytes(bytes);
    expect(decoded.encoding).toBe('latin1');
    expect(decoded.declared).toBe('8859/1');
    expect(parseHl7(decoded.text).get('PID-5')).toBe('Müller');
    expect(parseHl7(decoded.text).get('PID-5.2')).toBe('Zoë');
  });

  test.each([['UNICODE UTF-8'], ['UNICODE'], [''], ['unicode utf-8']])('%s decodes as UTF-8', (cs) => {
    const decoded = decodeHl7Bytes(Buffer.from(`${msh(cs)}\r${pid}\r`, 'utf8'));
    expect(decoded.encoding).toBe('utf8');
    expect(decoded.note).toBeUndefined();
    expect(parseHl7(decoded.text).get('PID-5')).toBe('Müller');
  });

  test('absent MSH-18 (short MSH) → UTF-8', () => {
    const text = 'MSH|^~\\&|A|B|C|D|20260101||ADT^A01|C1|P|2.4\rPID|1||9912003888||Müller';
    const decoded = decodeHl7Bytes(Buffer.from(text, 'utf8'));
    expect(decoded).toMatchObject({ encoding: 'utf8', declared: '' });
    expect(decoded.text).toBe(text);
  });

  test('ASCII', () => {
    expect(decodeHl7Bytes(Buffer.from(`${msh('ASCII')}\rPID|1||x||Smith`, 'latin1')).encoding).toBe('ascii');
  });

  test('unknown charset → UTF-8 with a note', () => {
    const decoded = decodeHl7Bytes(Buffer.from(`${msh('KLINGON')}\r${pid}`, 'utf8'));
    expect(decoded.encoding).toBe('utf8');
    expect(decoded.note).toMatch(/KLINGON/);
    expect(parseHl7(decoded.text).get('PID-5')).toBe('Müller');
  });

  test('UTF-8 BOM is stripped, MSH-18 repetition and LF ends handled', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${msh('8859/1~UNICODE UTF-8')}\n${pid}\n`, 'latin1')]);
    expect(peekCharset(bytes)).toBe('8859/1');
    const decoded = decodeHl7Bytes(bytes);
    expect(decoded.text.startsWith('MSH|')).toBe(true);
    expect(parseHl7(decoded.text).get('PID-5')).toBe('Müller');
  });

  test('8859/15 via iconv-lite and encode round trip', () => {
    const text = `${msh('8859/15')}\rNTE|1||Cost €5`;
    const bytes = encodeHl7Text(text, '8859/15');
    expect(bytes.length).toBe(text.length);
    expect(decodeHl7Bytes(bytes).text).toBe(text);
  });

  test('not HL7 → empty declared charset', () => {
    expect(peekCharset(Buffer.from('hello'))).toBe('');
    expect(peekCharset(Buffer.alloc(0))).toBe('');
  });
});

describe('strict decoding (intake)', () => {
  const latin1 = (cs: string) => Buffer.from(`${msh(cs)}\r${pid}\r`, 'latin1');

  test('valid UTF-8 decodes as before', () => {
    expect(decodeHl7Bytes(Buffer.from(`${msh('')}\r${pid}\r`, 'utf8'), { strict: true }).text).toContain('Müller^Zoë');
  });

  test.each([
    ['no MSH-18', '', /^Message is not valid UTF-8 and MSH-18 declares no character set/],
    ['MSH-18 UTF-8', 'UNICODE UTF-8', /^Message is not valid in the MSH-18 character set \(UTF-8\)/],
  ])('Latin-1 bytes with %s are refused with code 102 at MSH-18', (_what, cs, message) => {
    let err: unknown;
    try {
      decodeHl7Bytes(latin1(cs), { strict: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    expect(err).toMatchObject({ location: 'MSH-18', hl7ErrorCode: '102' });
    expect((err as Error).message).toMatch(message);
  });

  test('lenient decoding (for showing stored bytes) still replaces', () => {
    expect(decodeHl7Bytes(latin1('')).text).toContain('\ufffd');
  });

  test('shown to a person, bytes that do not decode are replaced only with a note saying so', () => {
    const shown = decodeForDisplay(latin1(''));
    expect(shown.text).toContain('\ufffd');
    expect(shown.note).toBe('Message is not valid UTF-8 and MSH-18 declares no character set; declare the character set in MSH-18 or configure the channel\'s charset; bytes that are not valid are shown as U+FFFD');
    const clean = decodeForDisplay(Buffer.from(`${msh('')}\r${pid}\r`, 'utf8'));
    expect(clean.note).toBeUndefined();
    expect(clean.text).toContain('Müller^Zoë');
    expect(decodeForDisplay(latin1(''), 'windows-1252')).toMatchObject({ encoding: 'windows-1252', note: 'not valid UTF-8; decoded as windows-1252 (channel charset)' });
  });

  test('a configured fallback decodes them, and says so', () => {
    const decoded = decodeHl7Bytes(latin1(''), { strict: true, fallback: 'windows-1252' });
    expect(decoded).toMatchObject({ encoding: 'windows-1252', note: 'not valid UTF-8; decoded as windows-1252 (channel charset)' });
    expect(parseHl7(decoded.text).get('PID-5.2')).toBe('Zoë');
  });

  test('a declared charset wins over the fallback', () => {
    expect(decodeHl7Bytes(latin1('8859/1'), { strict: true, fallback: 'windows-1252' }).encoding).toBe('latin1');
  });

  test('bytes undefined in the character set are refused, not replaced', () => {
    const bytes = Buffer.concat([Buffer.from(`${msh('')}\rNTE|1||`, 'latin1'), Buffer.from([0xe9, 0x81])]);
    expect(() => decodeHl7Bytes(bytes, { strict: true, fallback: 'windows-1252' })).toThrow(/^Message has bytes not defined in character set windows-1252/);
    expect(() => decodeHl7Bytes(Buffer.from(`${msh('ASCII')}\rNTE|1||\xe9`, 'latin1'), { strict: true })).toThrow(/not defined in character set ascii/);
  });
});
