import { describe, expect, test } from '@jest/globals';
import { ParseError } from '../../core/errors.js';
import { checkControlCharacters, checkHl7Limits, DEFAULT_HL7_LIMITS, type Hl7Limits } from '../../adapters/hl7v2/limits.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';

const MSH = 'MSH|^~\\&|PAS|RX1|TRAMLINE|LA123|20260105093000||ADT^A01^ADT_A01|C1|P|2.4';

function limitFailure(text: string, limits: Partial<Hl7Limits> = {}): { message: string; location?: string; code?: string } | undefined {
  try {
    const all = { ...DEFAULT_HL7_LIMITS, ...limits };
    checkHl7Limits(parseHl7(text, all), all);
    return undefined;
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    return { message: err.message, location: err.location, code: err.hl7ErrorCode };
  }
}

function controlFailure(text: string): string | undefined {
  try {
    checkControlCharacters(text, parseHl7(text));
    return undefined;
  } catch (err) {
    return (err as ParseError).location;
  }
}

describe('HL7 structural limits', () => {
  test('a realistic message passes the defaults', () => {
    expect(limitFailure(`${MSH}\rPID|1||9434765919^^^NHS^NH~RX1^^^RX1^MR||TESTPATIENT^Alex\rOBX|1|TX|||${'report text '.repeat(500)}`)).toBeUndefined();
  });

  test('repetitions at the limit pass, one more fails naming the field, code 102', () => {
    expect(limitFailure(`${MSH}\rPID|1||${'~'.repeat(999)}`)).toBeUndefined();
    expect(limitFailure(`${MSH}\rPID|1||${'~'.repeat(1000)}`)).toEqual({ message: 'Number of repetitions of PID-3 exceeds the limit of 1000', location: 'PID-3', code: '102' });
  });

  test('MSH fields are numbered as in the standard, and MSH-2 separators are not counted', () => {
    expect(limitFailure(`${MSH}|||||||||${'~'.repeat(20)}`, { repetitionsPerField: 5 })).toMatchObject({ location: 'MSH-21' });
    expect(limitFailure(MSH, { componentsPerField: 2, repetitionsPerField: 1 })).toMatchObject({ location: 'MSH-9' });
    expect(limitFailure(`${MSH}${'|'.repeat(8)}`, { fieldsPerSegment: 20 })).toBeUndefined();
    expect(limitFailure(`${MSH}${'|'.repeat(9)}`, { fieldsPerSegment: 20 })).toMatchObject({ location: 'MSH', message: 'Number of fields in MSH exceeds the limit of 20' });
  });

  test('a repeated segment is named by its occurrence', () => {
    expect(limitFailure(`${MSH}\rOBX|1|TX|||a\rOBX|2|TX|||${'^'.repeat(20)}`, { componentsPerField: 10 })).toMatchObject({ location: 'OBX[2]-5' });
  });

  test('segments per message', () => {
    expect(limitFailure(`${MSH}\rNTE|1\rNTE|2`, { segments: 3 })).toBeUndefined();
    expect(limitFailure(`${MSH}\rNTE|1\rNTE|2\rNTE|3`, { segments: 3 })).toMatchObject({ message: 'Number of segments exceeds the limit of 3', location: 'segment 4' });
  });

  test('parsing itself stops at the segment and MSH field limits instead of splitting everything', () => {
    // A million MSH fields or segments would be a million strings before any check could run.
    expect(() => parseHl7(`${MSH}${'|'.repeat(1_000_000)}`, DEFAULT_HL7_LIMITS)).toThrow(/^Number of fields in MSH exceeds the limit of 500$/);
    expect(() => parseHl7(`${MSH}${'\rNTE|1'.repeat(200_000)}`, DEFAULT_HL7_LIMITS)).toThrow(/^Number of segments exceeds the limit of 10000$/);
    expect(() => parseHl7(`${MSH}${'\r'.repeat(1_000_000)}`, DEFAULT_HL7_LIMITS)).toThrow(/^Number of segments exceeds the limit of 10000$/);
    // Blank lines beside the segments (CR CR endings) are tolerated within the limit.
    expect(parseHl7(`${MSH}${'\r\rNTE|1'.repeat(9)}\r\r`, { segments: 10 }).segmentCount).toBe(10);
    // Without limits, parsing is as before.
    expect(parseHl7(`${MSH}${'\rNTE|1'.repeat(20_000)}`).segmentCount).toBe(20_001);
  });

  test('separators that are special in a regular expression', () => {
    const msh = 'MSH#]-\\^#PAS#RX1#T#L#2026##ADT]A01#C1#P#2.4';
    expect(limitFailure(`${msh}\rPID#1##${'-'.repeat(20)}`, { repetitionsPerField: 10 })).toMatchObject({ location: 'PID-3' });
    expect(limitFailure(`${msh}\rPID#1##${']'.repeat(5)}${'^'.repeat(5)}`, { componentsPerField: 10, repetitionsPerField: 10 })).toMatchObject({ location: 'PID-3' });
    expect(limitFailure(`${msh}\rPID#1##a|b~c&d${'x'.repeat(20)}`, { componentsPerField: 2, repetitionsPerField: 2 })).toBeUndefined();
  });
});

describe('control characters', () => {
  test.each([
    ['NUL in MSH-4', `MSH|^~\\&|PAS|R\0X1|T|L|2026||ADT^A01|C1|P|2.4`, 'MSH-4'],
    ['SOH in MSH-2 position', `MSH|^~\\&\x01|PAS|RX1|T|L|2026||ADT^A01|C1|P|2.4`, 'MSH-2'],
    ['BEL in a repeated segment', `${MSH}\rOBX|1|TX|||ok\rOBX|2|TX|||b\x07ad`, 'OBX[2]-5'],
    ['form feed inside a field', `${MSH}\rPID|1||x\fy`, 'PID-3'],
  ])('%s', (_what, text, location) => {
    expect(controlFailure(text)).toBe(location);
  });

  test('CR, LF, CRLF and TAB are fine', () => {
    expect(controlFailure(`${MSH}\r\nPID|1||x\ty\nPV1|1`)).toBeUndefined();
  });

  test('the message names the character code, never the value', () => {
    expect(() => checkControlCharacters(`${MSH}\rPID|1||SECRET\0NAME`, parseHl7(`${MSH}\rPID|1||SECRET\0NAME`))).toThrow(/^PID-3 contains control character 0x00, not allowed in HL7 text$/);
  });
});
