// PID-3 patient identifiers and the NHS number among them, as routing and the case inbox read them.
import { describe, expect, it } from '@jest/globals';
import { nhsNumberOf, patientIdentifiers } from '../../adapters/hl7v2/identifiers.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';

const msh = 'MSH|^~\\&|PAS|RXL|TRAMLINE|BLACKPOOL|20260615093000||ADT^A01|C1|P|2.4';

describe('patientIdentifiers', () => {
  it('reads every PID-3 repetition with its authority and type, skipping empty ones', () => {
    const msg = parseHl7(`${msh}\rEVN|A01\rPID|1||943 476 5919^^^NHS^NH{status:01}~~RX\\T\\1^^^RXL^MR||TEST^PAT`);
    expect(patientIdentifiers(msg)).toEqual([
      { value: '943 476 5919', authority: 'NHS', type: 'NH{status:01}' },
      { value: 'RX&1', authority: 'RXL', type: 'MR' },
    ]);
    expect(nhsNumberOf(patientIdentifiers(msg))).toBe('9434765919');
  });

  it('recognises an NHS number flagged only by its assigning authority', () => {
    const msg = parseHl7(`${msh}\rPID|1||LOC1^^^RXL^MR~9449305552^^^NHS`);
    expect(nhsNumberOf(patientIdentifiers(msg))).toBe('9449305552');
  });

  it('gives nothing for a message without PID or without PID-3', () => {
    expect(patientIdentifiers(parseHl7(`${msh}\rEVN|A01`))).toEqual([]);
    expect(patientIdentifiers(parseHl7(`${msh}\rPID|1`))).toEqual([]);
    expect(nhsNumberOf(patientIdentifiers(parseHl7(`${msh}\rPID|1||LOC1^^^RXL^MR`)))).toBeUndefined();
  });
});
