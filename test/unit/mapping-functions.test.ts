// Runs every example each library function documents, plus the date and NHS number rules.
import { describe, expect, it } from '@jest/globals';
import { InvalidValueError } from '../../mappings/engine/invalid-value.js';
import { getCodeMap } from '../../mappings/functions/codemap-store.js';
import { hl7ToFhirDateTime, londonOffsetMinutes, parseHl7Timestamp } from '../../mappings/functions/dates.js';
import { FUNCTIONS } from '../../mappings/functions/index.js';
import { isValidNhsNumber } from '../../mappings/functions/nhs-number.js';
import { deterministicUuid, referenceUuid } from '../../mappings/functions/ids.js';

const env = { codemap: (name: string) => getCodeMap(name) };

describe('function library examples', () => {
  for (const fn of FUNCTIONS.values()) {
    it(`${fn.name} documents itself and has examples`, () => {
      expect(fn.description.length).toBeGreaterThan(10);
      expect(fn.examples.length).toBeGreaterThan(0);
    });
    fn.examples.forEach((ex, i) => {
      it(`${fn.name} example ${i + 1}: ${JSON.stringify(ex.input)}`, () => {
        const run = fn.bind(ex.args ?? [], env);
        if (ex.error) {
          expect(() => run(ex.input)).toThrow(InvalidValueError);
          expect(() => run(ex.input)).toThrow(ex.error);
        } else {
          expect(run(ex.input)).toEqual(ex.output);
        }
      });
    });
  }
});

describe('NHS number Modulus 11', () => {
  it('accepts the published valid examples and rejects check-digit 10 and wrong digits', () => {
    for (const n of ['9434765919', '9449305552', '9912003888', '3333333333']) expect(isValidNhsNumber(n)).toBe(true);
    // 4123456879 is a published example that fails; 1234567890 has check digit 10 (never valid).
    for (const n of ['4123456879', '1234567890', '9434765918', '943476591', 'abcdefghij']) expect(isValidNhsNumber(n)).toBe(false);
  });
});

describe('UK time zone', () => {
  it('knows GMT and BST instants', () => {
    expect(londonOffsetMinutes(Date.UTC(2026, 0, 15, 12))).toBe(0);
    expect(londonOffsetMinutes(Date.UTC(2026, 6, 15, 12))).toBe(60);
    // Clocks go forward at 01:00 UTC on the last Sunday of March.
    expect(londonOffsetMinutes(Date.UTC(2026, 2, 29, 0, 59))).toBe(0);
    expect(londonOffsetMinutes(Date.UTC(2026, 2, 29, 1, 0))).toBe(60);
  });

  it('reads the repeated autumn hour as BST and the hour after as GMT', () => {
    expect(hl7ToFhirDateTime('202610250059')).toBe('2026-10-25T00:59:00+01:00');
    expect(hl7ToFhirDateTime('202610250130')).toBe('2026-10-25T01:30:00+01:00');
    expect(hl7ToFhirDateTime('202610250200')).toBe('2026-10-25T02:00:00+00:00');
  });

  it('knows the days of each month, leap years included', () => {
    expect(hl7ToFhirDateTime('20240229')).toBe('2024-02-29');
    expect(hl7ToFhirDateTime('20000229')).toBe('2000-02-29');
    expect(hl7ToFhirDateTime('20261231')).toBe('2026-12-31');
    for (const bad of ['20230229', '19000229', '20260431', '20261232']) expect(() => hl7ToFhirDateTime(bad)).toThrow(InvalidValueError);
  });

  it('uses historical offsets (British Standard Time all year in 1970)', () => {
    expect(hl7ToFhirDateTime('197001151200')).toBe('1970-01-15T12:00:00+01:00');
    expect(hl7ToFhirDateTime('201010101400')).toBe('2010-10-10T14:00:00+01:00');
    expect(hl7ToFhirDateTime('201011011512')).toBe('2010-11-01T15:12:00+00:00');
  });

  it('rejects impossible dates with an InvalidValueError', () => {
    expect(() => hl7ToFhirDateTime('20260230')).toThrow(InvalidValueError);
    expect(() => hl7ToFhirDateTime('2026013112')).not.toThrow();
  });

  it('reads timestamps exactly as the HL7 TS grammar says (checked against its regular expression)', () => {
    const grammar = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?([+-]\d{4})?$/;
    const pieces = ['2026', '07', '15', '10', '30', '45', '.', '25', '0', '+', '-', '0100', '1', ' ', 'x', ''];
    let seed = 7;
    const next = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      // Half start with a year, so that enough of them are well formed.
      let raw = next(2) ? '2026' : '';
      for (let k = next(7); k > 0; k--) raw += pieces[next(pieces.length)];
      let parsed: unknown;
      try {
        parsed = parseHl7Timestamp(raw);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidValueError);
      }
      const m = grammar.exec(raw.trim());
      if (!m) {
        expect({ raw, parsed }).toEqual({ raw, parsed: undefined });
        continue;
      }
      if (parsed === undefined) continue; // well formed but out of range (month 13, hour 25…)
      accepted++;
      const [, year, month, day, hour, minute, second, fraction, offset] = m;
      expect({ raw, parsed }).toEqual({ raw, parsed: { year, month, day, hour, minute, second, fraction, offset } });
    }
    expect(accepted).toBeGreaterThan(500);
  });
});

describe('deterministic ids', () => {
  it('agree with the uuid package for ASCII, non-ASCII and long names', () => {
    // Names of one length in a row and back again: the hash reads a reused view of that length.
    const sameLength = ['https://fhir.nhs.uk/Id/nhs-number|9434765919', 'https://fhir.nhs.uk/Id/nhs-number|9990000018', 'urn:x|BRONTË ZOË'.padEnd(43, 'x')];
    for (const key of ['https://fhir.nhs.uk/Id/nhs-number|9434765919', 'urn:x|BRONTË ZOË', 'x'.repeat(5000), '', ...sameLength, ...sameLength.reverse()]) {
      expect(deterministicUuid('Patient', key)).toBe(referenceUuid('Patient', key));
      expect(deterministicUuid('Patient', key)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});

describe('documentation', () => {
  it('docs/components.md (generated from the specs) has a section for every library function', async () => {
    const { readFileSync } = await import('node:fs');
    const reference = readFileSync('docs/components.md', 'utf8');
    for (const name of FUNCTIONS.keys()) expect(reference).toContain(`### \`${name}\``);
  });
});
