import { describe, expect, test } from '@jest/globals';
import { ParseError } from '../../core/errors.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { segmentOrder } from '../../core/hl7/message.js';
import { toView } from '../../core/hl7/views.js';
import { escapeHl7, unescapeHl7, DEFAULT_SEPARATORS } from '../../core/hl7/escape.js';
import { ADT_A01, ADT_A01_SEGMENTS } from './hl7v2-fixtures.js';

const segs = ADT_A01_SEGMENTS;

describe('parseHl7: segment terminators and framing noise', () => {
  test.each([
    ['CR', segs.join('\r')],
    ['CR + trailing CR', segs.join('\r') + '\r'],
    ['LF', segs.join('\n') + '\n'],
    ['CRLF', segs.join('\r\n') + '\r\n'],
    ['mixed', segs.slice(0, 4).join('\r\n') + '\n' + segs.slice(4).join('\r')],
    ['BOM', '\uFEFF' + segs.join('\r')],
    ['trailing blank lines', segs.join('\r\n') + '\r\n\r\n  \r\n\n'],
  ])('%s', (_name, text) => {
    const msg = parseHl7(text);
    expect(segmentOrder(msg)).toEqual(['MSH', 'EVN', 'PID', 'PD1', 'NK1', 'PV1', 'AL1', 'DG1', 'ZU1']);
    expect(msg.get('PID-3')).toBe('9434765919');
    expect(msg.get('ZU1-3')).toBe('C');
    expect(msg.toString()).toBe(segs.join('\r'));
  });
});

describe('field notation', () => {
  const msg = parseHl7(ADT_A01);
  test.each([
    ['MSH-1', '|'],
    ['MSH-2', '^~\\&'],
    ['MSH-3', 'PAS'],
    ['MSH-9', 'ADT'],
    ['MSH-9.2', 'A01'],
    ['MSH-10', 'MSG00001'],
    ['PID-3', '9434765919'],
    ['PID-3.4', 'NHS'],
    ['PID-3[2]', 'RX1000123'],
    ['PID-3[2].1', 'RX1000123'],
    ['PID-3[2].5', 'MR'],
    ['PID-3[3].1', ''],
    ['PID-5.2', 'Alex'],
    ['PID.5.2', 'Alex'],
    ['PID-5.2.1', 'Alex'],
    ['PID-5.2.2', ''],
    ['PID-99', ''],
    ['PV1-3.2', 'WARD7'],
    ['PID', 'PID'],
    ['OBX-5', undefined],
    ['PID[2]-3', undefined],
  ])('get(%s)', (path, expected) => {
    expect(msg.get(path)).toBe(expected);
  });

  test('getAll over repetitions', () => {
    expect(msg.getAll('PID-3')).toEqual(['9434765919', 'RX1000123']);
    expect(msg.getAll('PID-3.5')).toEqual(['NH', 'MR']);
    expect(msg.getAll('PID-3[2].4')).toEqual(['RX1']);
    expect(msg.getAll('PID-9')).toEqual([]);
    expect(msg.getAll('OBX-5')).toEqual([]);
  });

  test('getRaw keeps structure', () => {
    expect(msg.getRaw('PID-3')).toBe('9434765919^^^NHS^NH~RX1000123^^^RX1^MR');
    expect(msg.getRaw('PID-3[2]')).toBe('RX1000123^^^RX1^MR');
    expect(msg.getRaw('PID-5.2')).toBe('Alex');
    expect(msg.getRaw('AL1')).toBe(segs[6]);
  });

  test('header accessors', () => {
    expect(msg.header).toEqual({
      sendingApplication: 'PAS',
      sendingFacility: 'RX1',
      receivingApplication: 'TRAMLINE',
      receivingFacility: 'LA123',
      dateTime: '20260105093000',
      messageType: 'ADT',
      triggerEvent: 'A01',
      structure: 'ADT_A01',
      controlId: 'MSG00001',
      processingId: 'P',
      version: '2.4',
      acceptAckType: 'AL',
      applicationAckType: 'NE',
      charset: 'UNICODE UTF-8',
    });
  });

  test('segments() and segment occurrences', () => {
    const m = parseHl7(segs.join('\r') + '\rNK1|2|TESTPATIENT^Jo^^^Mr|SON^Son');
    expect(m.segments('NK1').map((s) => s.get('2.2'))).toEqual(['Sam', 'Jo']);
    expect(m.get('NK1[2]-3')).toBe('SON');
    expect(m.segments().length).toBe(10);
    expect(m.segment('PID')?.field(5)).toBe('TESTPATIENT^Alex^James^^Mr^^L');
    expect(m.segment('PID')?.getAll(3)).toEqual(['9434765919', 'RX1000123']);
  });

  test('bad paths throw ParseError', () => {
    expect(() => msg.get('pid-3')).toThrow(ParseError);
    expect(() => msg.get('PID-3[0]')).toThrow(ParseError);
  });
});

describe('escapes', () => {
  test.each([
    ['A\\F\\B', 'A|B'],
    ['A\\S\\B', 'A^B'],
    ['A\\T\\B', 'A&B'],
    ['A\\R\\B', 'A~B'],
    ['A\\E\\B', 'A\\B'],
    ['Line1\\X0D0A\\Line2', 'Line1\r\nLine2'],
    ['Line1\\.br\\Line2', 'Line1\nLine2'],
    ['M\\XC3BC\\ller', 'Müller'],
    ['M\\XFC\\ller', 'Müller'],
    ['\\H\\bold\\N\\', 'bold'],
    ['keep \\Q\\ unknown', 'keep \\Q\\ unknown'],
    ['unterminated \\F', 'unterminated \\F'],
    ['\\F\\\\S\\', '|^'],
  ])('%s → %s', (encoded, decoded) => {
    expect(unescapeHl7(encoded, DEFAULT_SEPARATORS)).toBe(decoded);
  });

  test('decoded on access, not in raw', () => {
    const msg = parseHl7('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|X1|P|2.4\rNTE|1||Fish \\T\\ Chips\\X0D0A\\ok\\.br\\done');
    expect(msg.get('NTE-3')).toBe('Fish & Chips\r\nok\ndone');
    expect(msg.getRaw('NTE-3')).toBe('Fish \\T\\ Chips\\X0D0A\\ok\\.br\\done');
    expect(toView(msg).NTE[0][3]).toEqual([[['Fish & Chips\r\nok\ndone']]]);
  });

  test('escapeHl7 round-trips', () => {
    const text = 'a|b^c&d~e\\f\r\ng';
    expect(unescapeHl7(escapeHl7(text), DEFAULT_SEPARATORS)).toBe(text.replace('\r\n', '\r\n'));
  });
});

describe('custom separators', () => {
  const text = 'MSH#*$!@#APP#FAC#RAPP#RFAC#20260101##ADT*A04#C9#P#2.5\rPID#1##9449305552**NHS@x*NH$MRN1##Doe*Jane!S!ne\rNTE#1##a!F!b';
  const msg = parseHl7(text);
  test('separators come from MSH-1/MSH-2', () => {
    expect(msg.separators).toEqual({ field: '#', component: '*', repetition: '$', escape: '!', subcomponent: '@', truncation: undefined });
    expect(msg.get('MSH-1')).toBe('#');
    expect(msg.get('MSH-2')).toBe('*$!@');
    expect(msg.header.triggerEvent).toBe('A04');
    expect(msg.get('PID-3')).toBe('9449305552');
    expect(msg.get('PID-3.3')).toBe('NHS');
    expect(msg.get('PID-3.3.2')).toBe('x');
    expect(msg.get('PID-3[2]')).toBe('MRN1');
    expect(msg.get('PID-5.2')).toBe('Jane*ne');
    expect(msg.get('NTE-3')).toBe('a#b');
  });

  test('v2.7 truncation character', () => {
    const m = parseHl7('MSH|^~\\&#|A|B|C|D|20260101||ADT^A01|C1|P|2.7\rNTE|1||x\\P\\y');
    expect(m.separators.truncation).toBe('#');
    expect(m.get('MSH-2')).toBe('^~\\&#');
    expect(m.get('NTE-3')).toBe('x#y');
    expect(m.warnings).toEqual([]);
  });

  // What PAS feeds send: the header written twice, or junk after the encoding characters. The
  // first four are distinct delimiters, so the message is read, with a warning naming MSH-2.
  test.each([
    ['doubled', '^~\\&^~\\&', undefined, 'MSH-2 holds 8 characters; the first 4 are used as encoding characters and the rest ignored'],
    ['truncation then junk', '^~\\&#^~', '#', 'MSH-2 holds 7 characters; the first 5 are used as encoding characters and the rest ignored'],
    ['a letter after four', '^~\\&X', undefined, 'MSH-2 holds 5 characters; the first 4 are used as encoding characters and the rest ignored'],
  ])('sloppy MSH-2 (%s) is read with a warning', (_name, enc, truncation, warning) => {
    const m = parseHl7(`MSH|${enc}|A|B|C|D|20260101||ADT^A01|C1|P|2.4\rPID|1||123^^^RXX^MR~456^^^RXX^MR||DOE^JO`);
    expect(m.separators).toEqual({ field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&', truncation });
    expect(m.warnings).toEqual([warning]);
    expect(m.get('PID-3[2].1')).toBe('456');
    expect(m.get('PID-5.2')).toBe('JO');
  });
});

describe('toView', () => {
  const view = toView(parseHl7(ADT_A01));
  test('documented shape', () => {
    expect(Object.keys(view)).toEqual(['MSH', 'EVN', 'PID', 'PD1', 'NK1', 'PV1', 'AL1', 'DG1', 'ZU1']);
    expect(view.MSH[0][0]).toEqual([[['MSH']]]);
    expect(view.MSH[0][1]).toEqual([[['|']]]);
    expect(view.MSH[0][2]).toEqual([[['^~\\&']]]);
    expect(view.MSH[0][9]).toEqual([[['ADT'], ['A01'], ['ADT_A01']]]);
    expect(view.PID[0][3][1][0][0]).toBe('RX1000123');
    expect(view.PID[0][3][0][3][0]).toBe('NHS');
    expect(view.PID[0][2]).toEqual([]);
    expect(view.PID[0][5][0].map((c) => c[0])).toEqual(['TESTPATIENT', 'Alex', 'James', '', 'Mr', '', 'L']);
    expect(view.PID[0].length).toBe(ADT_A01_SEGMENTS[2].split('|').length);
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });

  // The single-pass builder must agree with the obvious nested split().
  function reference(text: string): Record<string, unknown[]> {
    const msg = parseHl7(text);
    const s = msg.separators;
    const out: Record<string, unknown[]> = {};
    for (const seg of msg.segments()) {
      const fields = seg.raw.split(s.field);
      if (seg.id === 'MSH') fields.splice(1, 0, s.field);
      const view = fields.map((f, n) =>
        n === 0 || (seg.id === 'MSH' && n <= 2)
          ? [[[f]]]
          : f === ''
            ? []
            : f.split(s.repetition).map((r) => r.split(s.component).map((c) => c.split(s.subcomponent).map((x) => unescapeHl7(x, s)))),
      );
      (out[seg.id] ??= []).push(view);
    }
    return out;
  }
  test.each([
    ['fixture', ADT_A01],
    ['edge separators', 'MSH|^~\\&|A||C||||ADT^A01|X1\rNTE|1|~|^|&|~~|^^&|a\\F\\b^c\\T\\d&e~\\X41\\|||\rZZ1\rZZ2|\rZZ3||'],
    ['custom', 'MSH#*$!@#APP#FAC#RAPP#RFAC#20260101##ADT*A04#C9#P#2.5\rPID#1##9449305552**NHS@x*NH$MRN1##Doe*Jane!S!ne#'],
    ['escapes in subcomponents, repeated delimiters', 'MSH|^~\\&|A||||||ADT^A01|C1|P|2.4\rNTE|1||a^^b&&c^|~~x|\\T\\&y\\F\\^\\E\\|^|'],
    ['repeated MSH (batch)', 'MSH|^~\\&|A||||||ADT^A01|C1|P|2.4\rPID|1||42^^^NHS\rMSH|^~\\&|A||||||ADT^A01|C2|P|2.4\rPID|2||43'],
  ])('toView equals nested split: %s', (_n, text) => {
    expect(toView(parseHl7(text))).toEqual(reference(text));
  });

  test('repeated segments keep order', () => {
    const v = toView(parseHl7(ADT_A01 + 'NK1|2|TESTPATIENT^Jo\r'));
    expect(v.NK1.map((s) => s[1][0][0][0])).toEqual(['1', '2']);
  });
});

describe('errors carry locations', () => {
  const msh = 'MSH|^~\\&|A|B|C|D|20260101||ADT^A01|C1|P|2.4';
  test.each([
    ['empty', '', 'MSH'],
    ['blank lines only', '\r\n\r\n', 'MSH'],
    ['not MSH', 'PID|1||123\r' + msh, 'MSH'],
    ['short MSH', 'MSH', 'MSH-1'],
    ['alnum field separator', 'MSHA^~\\&A', 'MSH-1'],
    ['short encoding chars', 'MSH|^~|A|B|C|D|20260101||ADT^A01|C1|P|2.4', 'MSH-2'],
    ['repeated encoding chars', 'MSH|^^\\&|A|B|C|D|20260101||ADT^A01|C1|P|2.4', 'MSH-2'],
    ['encoding chars repeating the field separator', 'MSH|^~|&|A|B|C|D|20260101||ADT^A01|C1|P|2.4', 'MSH-2'],
    ['alphanumeric encoding chars', 'MSH|^~A&|A|B|C|D|20260101||ADT^A01|C1|P|2.4', 'MSH-2'],
    ['missing MSH-9', 'MSH|^~\\&|A|B|C|D|20260101|||C1|P|2.4', 'MSH-9'],
    ['MSH-9 without type', 'MSH|^~\\&|A|B|C|D|20260101||^A01|C1|P|2.4', 'MSH-9'],
    ['missing MSH-10', 'MSH|^~\\&|A|B|C|D|20260101||ADT^A01||P|2.4', 'MSH-10'],
    ['truncated MSH', 'MSH|^~\\&|A|B|C', 'MSH-9'],
    ['lower-case segment id', msh + '\rpid|1', 'segment 2'],
    ['two-letter segment id', msh + '\rPI|1', 'segment 2'],
    ['long segment id', msh + '\rEVN|A01\rPIDX|1', 'segment 3'],
    ['garbage line', msh + '\r\u0000\u0001garbage', 'segment 2'],
  ])('%s', (_name, text, location) => {
    let caught: unknown;
    try {
      parseHl7(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ParseError);
    expect((caught as ParseError).location).toBe(location);
  });

  test('segment id alone (no fields) is allowed', () => {
    expect(segmentOrder(parseHl7(msh + '\rZU8'))).toEqual(['MSH', 'ZU8']);
  });
});
