// The mapping benchmark's distinct patients: each variant of a shipped case is a different
// person with valid NHS numbers, and still maps to a valid UK Core bundle.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Patient } from 'fhir/r4.js';
import { distinctPatients, patientVariant, syntheticNhsNumber } from '../../bench/adt-variants.js';
import { decodeHl7File } from '../../mappings/engine/cases.js';
import { isValidNhsNumber } from '../../mappings/functions/nhs-number.js';
import { mapHl7ToBundle } from '../../mappings/index.js';
import { fhirIssues, NHS_NUMBER_SYSTEM } from '../../mappings/validate/index.js';

const CASES = 'mappings/hl7v2/cases';
const cases = readdirSync(CASES)
  .filter((f) => f.endsWith('.hl7') && !f.startsWith('error-'))
  .sort()
  .map((f) => ({ name: f, text: decodeHl7File(readFileSync(join(CASES, f))) }));

function patients(bundle: Bundle): Patient[] {
  return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Patient => r?.resourceType === 'Patient');
}

function nhsNumbers(bundle: Bundle): string[] {
  return patients(bundle).flatMap((p) => (p.identifier ?? []).filter((i) => i.system === NHS_NUMBER_SYSTEM).map((i) => i.value ?? ''));
}

describe('bench: distinct ADT patients', () => {
  it('makes valid, distinct synthetic NHS numbers', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 20_000; seed++) {
      const n = syntheticNhsNumber(seed);
      expect(n).toMatch(/^99\d{8}$/);
      expect(isValidNhsNumber(n)).toBe(true);
      seen.add(n);
    }
    expect(seen.size).toBe(20_000);
  });

  it('gives each variant its own people, and every variant still maps to a valid bundle', () => {
    const numbersSeen = new Map<string, string>();
    for (const [i, { name, text }] of cases.entries()) {
      const original = mapHl7ToBundle(text);
      for (let v = i; v < 30 * cases.length; v += cases.length) {
        const variant = patientVariant(text, v);
        const { bundle, issues, header } = mapHl7ToBundle(variant);
        expect({ name, v, problems: fhirIssues(bundle) }).toEqual({ name, v, problems: [] });
        // Mapping issues (the invalid NHS number case) are the original's, no more.
        expect(issues.length).toBe(original.issues.length);
        expect(header.controlId).toBe(`${original.header.controlId}-${v}`);
        expect(patients(bundle).length).toBe(patients(original.bundle).length);
        for (const n of nhsNumbers(bundle)) {
          const key = `${name}#${v}`;
          // A number belongs to one case variant only (the merge cases have two people each).
          expect([n, numbersSeen.get(n) ?? key]).toEqual([n, key]);
          numbersSeen.set(n, key);
          expect(nhsNumbers(original.bundle)).not.toContain(n);
        }
        const family = patients(bundle)[0].name?.[0]?.family;
        const originalFamily = patients(original.bundle)[0].name?.[0]?.family;
        if (originalFamily) expect(family).not.toBe(originalFamily);
      }
    }
    expect(numbersSeen.size).toBeGreaterThan(cases.length * 20);
  });

  it('keeps an invalid NHS number invalid, so that case still reports it', () => {
    const invalid = cases.find((c) => c.name.includes('invalid-nhs-number'));
    expect(invalid).toBeDefined();
    const variant = patientVariant(invalid!.text, 7);
    expect(variant).toContain('|9434765918^^^NHS^NH~');
    expect(mapHl7ToBundle(variant).issues.map((issue) => issue.message)).toContainEqual(expect.stringMatching(/NHS number fails the Modulus 11 check/));
  });

  it('interleaves the cases: every case once before any repeats', () => {
    const all = distinctPatients(cases.map((c) => c.text), 3);
    expect(all.length).toBe(cases.length * 3);
    expect(new Set(all).size).toBe(all.length);
    expect(all.slice(0, cases.length)).toEqual(cases.map((c, i) => patientVariant(c.text, i)));
  });
});
