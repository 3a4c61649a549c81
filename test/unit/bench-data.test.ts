// The benchmarks' generated data, on small inputs: the generators' rules are the same for the
// 5th person as for the 5,000th, and the benchmarks only need them to hold. One file, so the FHIR
// validator both sets of checks use is compiled once.
//
// Mapping benchmark: each variant of a shipped ADT case is a different person with valid NHS
// numbers, and still maps to a valid UK Core bundle; the numeric edges (seed wrap-around) are
// checked directly.
//
// CLD benchmark: clones of the sample extract's publishable people, each a new person with a
// valid NHS number, which all validate and map to valid Bundles (the benchmark throws otherwise).
import { describe, expect, it } from '@jest/globals';
import type { Bundle, Patient } from 'fhir/r4.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { BENCH_ADT_CASES, benchAdtCases } from '../../bench/adt-cases.js';
import { REALISTIC_ADT_MESSAGES } from '../../bench/adt-realistic.js';
import { distinctPatients, patientVariant, syntheticNhsNumber } from '../../bench/adt-variants.js';
import { syntheticCldCsv } from '../../bench/cld-mapping.js';
import { isValidNhsNumber } from '../../mappings/functions/nhs-number.js';
import { mapHl7ToBundle } from '../../mappings/index.js';
import { prepareCldRecord, type CldRecord } from '../../mappings/social-care/cld-validate.js';
import { mapCldPerson, readCldCsv } from '../../mappings/social-care/cld.js';
import { groupCldRows } from '../../mappings/social-care/group.js';
import { fhirIssues, NHS_NUMBER_SYSTEM } from '../../mappings/validate/index.js';

/** Variants mapped per shipped case: enough for repeats of every case, small enough to be quick. */
const VARIANTS = 4;
const cases = benchAdtCases();

function patients(bundle: Bundle): Patient[] {
  return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Patient => r?.resourceType === 'Patient');
}

function nhsNumbers(bundle: Bundle): string[] {
  return patients(bundle).flatMap((p) => (p.identifier ?? []).filter((i) => i.system === NHS_NUMBER_SYSTEM).map((i) => i.value ?? ''));
}

describe('bench: distinct ADT patients', () => {
  it('replays a fixed list of the shipped cases, so new example cases leave the benchmark as it was', () => {
    expect(cases).toHaveLength(15);
    expect(new Set(BENCH_ADT_CASES).size).toBe(BENCH_ADT_CASES.length);
  });

  it('makes valid, distinct synthetic NHS numbers', () => {
    // The first seeds and the last ones before the prefix wraps at 10^6.
    const seeds = [...Array.from({ length: 2_000 }, (_, i) => i), ...Array.from({ length: 1_000 }, (_, i) => 999_000 + i)];
    const numbers = seeds.map((seed) => syntheticNhsNumber(seed));
    expect(numbers.filter((n) => !/^99\d{8}$/.test(n) || !isValidNhsNumber(n))).toEqual([]);
    expect(new Set(numbers).size).toBe(seeds.length);
    // Distinct below 10^6 only, as documented: the six seed digits wrap there.
    expect(syntheticNhsNumber(1_000_000)).toBe(syntheticNhsNumber(0));
  });

  it('gives each variant its own people, and every variant still maps to a valid bundle', () => {
    const numbersSeen = new Map<string, string>();
    let casesWithValidNhs = 0;
    for (const [i, { name, text }] of cases.entries()) {
      const original = mapHl7ToBundle(text);
      if (nhsNumbers(original.bundle).some((n) => isValidNhsNumber(n))) casesWithValidNhs++;
      for (let v = i; v < VARIANTS * cases.length; v += cases.length) {
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
    // Every variant of every case with a valid NHS number brought new ones.
    expect(casesWithValidNhs).toBeGreaterThan(cases.length / 2);
    expect(numbersSeen.size).toBeGreaterThanOrEqual(casesWithValidNhs * VARIANTS);
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

describe('bench: realistic-size ADT messages', () => {
  const messages = REALISTIC_ADT_MESSAGES;

  it('are vendor-sized: ~1 KB on average, each with more segments than the mapping reads', () => {
    const bytes = messages.map((m) => Buffer.byteLength(m.text));
    const mean = bytes.reduce((a, b) => a + b, 0) / bytes.length;
    expect(mean).toBeGreaterThan(850);
    expect(mean).toBeLessThan(1100);
    expect(messages.map((m) => parseHl7(m.text).header.triggerEvent)).toEqual(['A01', 'A02', 'A03', 'A04', 'A08']);
    // Segments no mapping path names (Z-segments, PV2) are part of what a feed sends.
    for (const m of messages) expect(m.text.split('\r').some((seg) => /^(Z..|PV2)\|/.test(seg))).toBe(true);
  });

  it('map without a warning to valid UK Core bundles, and so do their distinct-patient variants', () => {
    const all = distinctPatients(messages.map((m) => m.text), VARIANTS);
    for (const [i, text] of all.entries()) {
      const { bundle, issues } = mapHl7ToBundle(text);
      expect({ i, issues: issues.map((x) => x.message), problems: fhirIssues(bundle) }).toEqual({ i, issues: [], problems: [] });
      expect(bundle.entry?.length).toBeGreaterThanOrEqual(10);
      // Each variant's patient has its own valid NHS number.
      expect(nhsNumbers(bundle).filter((n) => isValidNhsNumber(n))).toHaveLength(1);
    }
    expect(new Set(all.flatMap((t) => nhsNumbers(mapHl7ToBundle(t).bundle))).size).toBe(all.length);
  });
});

/** CLD people cloned: two clones of each of the sample's publishable people. */
const PEOPLE = 8;

describe('bench: synthetic CLD extract', () => {
  const { csv, rows } = syntheticCldCsv(PEOPLE);
  const parsed = readCldCsv(csv).map((r) => r.raw);

  it('is CSV with the rows it says, for the people asked, each with its own events', () => {
    expect(parsed).toHaveLength(rows);
    expect(rows).toBeGreaterThan(PEOPLE);
    expect(new Set(parsed.map((r) => r.LA_Person_Unique_Identifier)).size).toBe(PEOPLE);
    expect(new Set(parsed.map((r) => r.Event_Reference)).size).toBe(rows);
  });

  it('gives each person a fresh valid NHS number, except clones of the invalid-number person', () => {
    const numbers = new Map<string, Set<string>>();
    for (const r of parsed) {
      const person = r.LA_Person_Unique_Identifier;
      // The sample's P1003 has an invalid NHS number: the case is about reporting it.
      const number = person.startsWith('P1003-') ? 'invalid, kept' : r.NHS_Number;
      numbers.set(person, (numbers.get(person) ?? new Set()).add(number));
    }
    const fresh = [...numbers.values()].map((set) => [...set]).filter(([n]) => n !== 'invalid, kept');
    expect(fresh.length).toBeGreaterThanOrEqual(PEOPLE / 2);
    expect(fresh.filter((set) => set.length !== 1 || !isValidNhsNumber(set[0]))).toEqual([]);
    expect(new Set(fresh.flat()).size).toBe(fresh.length);
  });

  it('validates every row and maps every person to a valid Bundle', () => {
    const prepared = parsed.map((r) => prepareCldRecord(r));
    expect(prepared.filter((p) => !p.ok)).toEqual([]);
    const inputs = groupCldRows(prepared.map((p) => (p as { record: CldRecord }).record));
    expect(inputs).toHaveLength(PEOPLE);
    for (const input of inputs) expect(fhirIssues(mapCldPerson(input).bundle)).toEqual([]);
  });
});
