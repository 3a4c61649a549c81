import { describe, expect, test } from '@jest/globals';
import { ParseError } from '../../core/errors.js';
import {
  ackForUnparseable,
  ackMode,
  buildAck,
  hl7Timestamp,
  immediateAckCode,
  newControlId,
  wantsAck,
} from '../../adapters/hl7v2/ack.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { ADT_A01 } from './hl7v2-fixtures.js';

const now = new Date(Date.UTC(2026, 0, 5, 9, 30, 1));
const original = parseHl7(
  'MSH|^~\\&|PAS^1.2.3^ISO|RX1|TRAMLINE|LA123|20260105093000||ADT^A03^ADT_A03|MSG777|P|2.4||||||8859/1\rPID|1||9449305552^^^NHS^NH',
);

describe('buildAck', () => {
  test('original mode AA swaps parties and echoes MSH-10', () => {
    const ack = buildAck(original, { code: 'AA', controlId: 'ACK1', now });
    expect(ack).toBe('MSH|^~\\&|TRAMLINE|LA123|PAS^1.2.3^ISO|RX1|20260105093001+0000||ACK^A03^ACK|ACK1|P|2.4||||||8859/1\rMSA|AA|MSG777\r');
    const parsed = parseHl7(ack);
    expect(parsed.header).toMatchObject({
      sendingApplication: 'TRAMLINE',
      receivingApplication: 'PAS',
      receivingFacility: 'RX1',
      messageType: 'ACK',
      triggerEvent: 'A03',
      structure: 'ACK',
      processingId: 'P',
      version: '2.4',
      charset: '8859/1',
    });
    expect(parsed.get('MSA-2')).toBe('MSG777');
    expect(parsed.segments('ERR')).toEqual([]);
  });

  test('AE with error: ERR-2 location, ERR-3 table 0357, ERR-4, ERR-8, MSA-3; ERR-1 for v2.4', () => {
    const ack = parseHl7(
      buildAck(original, { code: 'AE', error: { location: 'PID-3[1].1', hl7ErrorCode: '101', text: 'NHS number | missing' }, now }),
    );
    expect(ack.get('MSA-1')).toBe('AE');
    expect(ack.get('MSA-2')).toBe('MSG777');
    expect(ack.get('MSA-3')).toBe('NHS number | missing');
    expect(ack.getRaw('ERR-2')).toBe('PID^1^3^1^1');
    expect(ack.getRaw('ERR-3')).toBe('101^Required field missing^HL70357');
    expect(ack.get('ERR-4')).toBe('E');
    expect(ack.get('ERR-8')).toBe('NHS number | missing');
    expect(ack.getRaw('ERR-1')).toBe('PID^1^3^101&Required field missing&HL70357');
  });

  test('v2.5 ERR without ERR-1, default code 207, severity and non-HL7 location', () => {
    const msg = parseHl7(ADT_A01.replace('|2.4|', '|2.5|'));
    const ack = parseHl7(buildAck(msg, { code: 'AR', error: { location: 'queue', severity: 'F', text: 'Store unavailable' } }));
    expect(ack.get('ERR-1')).toBe('');
    expect(ack.get('ERR-2')).toBe('');
    expect(ack.getRaw('ERR-3')).toBe('207^Application internal error^HL70357');
    expect(ack.get('ERR-4')).toBe('F');
    expect(ack.get('ERR-7')).toBe('Location: queue');
    expect(ack.get('ERR-8')).toBe('Store unavailable');
    expect(ack.header.charset).toBe('UNICODE UTF-8');
    expect(ack.header.controlId).toMatch(/^[0-9A-F]{20}$/);
  });

  test('enhanced mode commit ACK from a partial header', () => {
    const ack = parseHl7(buildAck({ controlId: 'X9', sendingApplication: 'LAB', triggerEvent: 'R01', version: '2.5' }, { code: 'CA' }));
    expect(ack.get('MSA-1')).toBe('CA');
    expect(ack.get('MSA-2')).toBe('X9');
    expect(ack.get('MSH-5')).toBe('LAB');
    expect(ack.getRaw('MSH-9')).toBe('ACK^R01^ACK');
  });

  test('custom separators are kept', () => {
    const msg = parseHl7('MSH#*$!@#APP#FAC#RAPP#RFAC#20260101##ADT*A04#C9#P#2.5');
    const ack = buildAck(msg, { code: 'AE', error: { text: 'a#b', location: 'PID-3' } });
    expect(ack.startsWith('MSH#*$!@#RAPP#RFAC#APP#FAC#')).toBe(true);
    const parsed = parseHl7(ack);
    expect(parsed.get('ERR-8')).toBe('a#b');
    expect(parsed.getRaw('ERR-2')).toBe('PID*1*3');
    expect(parsed.get('MSA-2')).toBe('C9');
  });
});

describe('ackForUnparseable', () => {
  test.each([
    ['missing MSH-9 → 101, AR', 'MSH|^~\\&|PAS|RX1|TL|LA|20260101|||CTRL42|P|2.4\rPID|1', 'AR', 'CTRL42', '101'],
    ['enhanced (MSH-15 set) → CR', 'MSH|^~\\&|PAS|RX1|TL|LA|20260101|||CTRL43|P|2.5|||AL', 'CR', 'CTRL43', '101'],
    ['bad segment → 100', 'MSH|^~\\&|PAS|RX1|TL|LA|20260101||ADT^A01|CTRL44|P|2.4\rpid|1', 'AR', 'CTRL44', '100'],
    ['not HL7 at all', 'GET / HTTP/1.1\r\nHost: x\r\n', 'AR', '', '100'],
    ['bad encoding chars', 'MSH|^|PAS|RX1|TL|LA|20260101||ADT^A01|CTRL45|P|2.4', 'AR', 'CTRL45', '102'],
    ['ambiguous MSH-2 (first four not distinct)', 'MSH|^^\\&~|PAS|RX1|TL|LA|20260101||ADT^A01|CTRL46|P|2.4', 'AR', 'CTRL46', '102'],
  ])('%s', (_name, raw, code, ctrl, errCode) => {
    let reason: Error = new Error('unparseable');
    try {
      parseHl7(raw);
    } catch (err) {
      reason = err as Error;
    }
    expect(reason).toBeInstanceOf(ParseError);
    const ack = parseHl7(ackForUnparseable(raw, reason));
    expect(ack.get('MSA-1')).toBe(code);
    expect(ack.get('MSA-2')).toBe(ctrl);
    expect(ack.get('ERR-3')).toBe(errCode);
    expect(ack.get('ERR-8')).toBe(reason.message);
  });

  test('an ambiguous MSH-2 is refused naming MSH-2; a sloppy but clear one is not refused at all', () => {
    const raw = 'MSH|^^\\&~|PAS|RX1|TL|LA|20260101||ADT^A01|CTRL47|P|2.4';
    let reason: Error = new Error('unparseable');
    try {
      parseHl7(raw);
    } catch (err) {
      reason = err as Error;
    }
    expect(reason).toMatchObject({ location: 'MSH-2' });
    expect(parseHl7(ackForUnparseable(raw, reason)).getRaw('ERR-2')).toBe('MSH^1^2');
    expect(parseHl7(raw.replace('^^\\&~', '^~\\&^~\\&')).warnings).toHaveLength(1);
  });

  test('accepts raw bytes', () => {
    const ack = parseHl7(ackForUnparseable(Buffer.from('MSH|^~\\&|PAS|RX1|TL|LA|20260101|||B1|P|2.4\rPID|1||x||M\xfcller', 'latin1'), 'bad'));
    expect(ack.get('MSA-2')).toBe('B1');
  });

  test('recovers sender for routing the reply', () => {
    const ack = parseHl7(ackForUnparseable('MSH|^~\\&|PAS|RX1|TL|LA|20260101|||C1|P|2.4', 'no type'));
    expect(ack.header.receivingApplication).toBe('PAS');
    expect(ack.header.receivingFacility).toBe('RX1');
    expect(ack.get('ERR-8')).toBe('no type');
  });
});

describe('ack mode', () => {
  const withAck = (accept: string, app: string) => parseHl7(`MSH|^~\\&|A|B|C|D|20260101||ADT^A01|C1|P|2.5|||${accept}|${app}`);
  test.each([
    ['', '', { enhanced: false, accept: 'NE', application: 'AL' }, 'AA', 'AE'],
    ['AL', 'NE', { enhanced: true, accept: 'AL', application: 'NE' }, 'CA', 'CE'],
    ['NE', 'AL', { enhanced: true, accept: 'NE', application: 'AL' }, undefined, undefined],
    ['ER', 'AL', { enhanced: true, accept: 'ER', application: 'AL' }, undefined, 'CE'],
    ['SU', '', { enhanced: true, accept: 'SU', application: 'NE' }, 'CA', undefined],
    ['', 'AL', { enhanced: true, accept: 'AL', application: 'AL' }, 'CA', 'CE'],
  ])('MSH-15=%s MSH-16=%s', (accept, app, mode, onAccept, onError) => {
    const m = ackMode(withAck(accept, app));
    expect(m).toEqual(mode);
    expect(immediateAckCode(m, 'accept')).toBe(onAccept);
    expect(immediateAckCode(m, 'error')).toBe(onError);
  });

  test('reject codes and wantsAck', () => {
    expect(immediateAckCode(ackMode({}), 'reject')).toBe('AR');
    expect(immediateAckCode(ackMode({ acceptAckType: 'AL' }), 'reject')).toBe('CR');
    expect(wantsAck('ER', true)).toBe(false);
    expect(wantsAck('SU', true)).toBe(true);
    expect(wantsAck('NE', false)).toBe(false);
  });

  test('helpers', () => {
    expect(hl7Timestamp(now)).toBe('20260105093001+0000');
    expect(newControlId()).not.toBe(newControlId());
  });
});
