// The FHIR R4 fast validators are ajv standalone code from a disk cache: they must answer
// exactly as validators compiled in the process do, references collected included; and the
// cache must never hand over code from a place others can write.
import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUNDLE_SHELL, compiledResourceValidator, fastValidatorsOrigin, fastValidatorsProblem, resourceValidator, validateCollecting } from '../../mappings/validate/fhir-schema.js';
import { cachedCode } from '../../mappings/validate/generated-code-cache.js';

type Json = Record<string, unknown>;
const CASES = 'mappings/hl7v2/cases';
const bundles = readdirSync(CASES)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => JSON.parse(readFileSync(path.join(CASES, f), 'utf8')) as Json);
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Each resource as mapped, and broken in ways the schema catches at different depths. */
function samples(): { type: string; resource: Json }[] {
  const out: { type: string; resource: Json }[] = [];
  for (const b of bundles) {
    out.push({ type: BUNDLE_SHELL, resource: b });
    out.push({ type: BUNDLE_SHELL, resource: { ...copy(b), entry: [{ request: { method: 'FETCH', url: 'Patient' } }] } });
    for (const { resource } of b.entry as { resource: Json }[]) {
      const type = resource.resourceType as string;
      out.push({ type, resource });
      out.push({ type, resource: { ...copy(resource), tramlineUnknown: true } });
      out.push({ type, resource: { ...copy(resource), id: 42 } });
      out.push({ type, resource: { ...copy(resource), meta: { profile: 'not-an-array' } } });
      const ids = copy(resource);
      if (Array.isArray(ids.identifier) && ids.identifier.length) {
        (ids.identifier as Json[]).at(-1)!.value = 7;
        out.push({ type, resource: ids });
      }
      const ref = copy(resource);
      for (const [k, v] of Object.entries(ref)) {
        if (v && typeof v === 'object' && 'reference' in v) (ref[k] as Json).display = ['not', 'a', 'string'];
      }
      out.push({ type, resource: ref });
    }
  }
  return out;
}

describe('generated FHIR R4 validators', () => {
  it('agree with freshly compiled ones on valid and invalid resources, references collected included', () => {
    expect(resourceValidator('Patient')).toBeDefined();
    // The cache works here (a problem is named if not).
    expect({ origin: fastValidatorsOrigin, problem: fastValidatorsProblem }).toEqual({ origin: expect.stringMatching(/^(cache|written)$/), problem: undefined });
    const all = samples();
    expect(new Set(all.map((s) => s.type)).size).toBeGreaterThan(8);
    let valid = 0;
    let withReferences = 0;
    for (const { type, resource } of all) {
      const generated = resourceValidator(type);
      const compiled = compiledResourceValidator(type);
      expect(generated).toBeDefined();
      expect(generated).not.toBe(compiled);
      const genRefs: string[] = [];
      const compRefs: string[] = [];
      const genValid = validateCollecting(generated!, resource, genRefs);
      const compValid = validateCollecting(compiled!, resource, compRefs);
      expect({ type, valid: genValid, references: genRefs }).toEqual({ type, valid: compValid, references: compRefs });
      if (genValid) valid++;
      if (genRefs.length) withReferences++;
    }
    // Both answers occur, and references are collected.
    expect(valid).toBeGreaterThan(10);
    expect(all.length - valid).toBeGreaterThan(50);
    expect(withReferences).toBeGreaterThan(10);
  });

  it('has every R4 resource type and the Bundle shell; other definitions still compile, unknown types are none', () => {
    for (const t of ['Patient', 'Encounter', 'AuditEvent', 'Questionnaire', 'VerificationResult', BUNDLE_SHELL]) expect(resourceValidator(t)).toBeDefined();
    expect(resourceValidator('HumanName')?.({ family: 'Smith', given: ['Ann'] })).toBe(true);
    expect(resourceValidator('HumanName')?.({ family: 7 })).toBe(false);
    expect(resourceValidator('NoSuchResource')).toBeUndefined();
  });
});

describe('generated code cache', () => {
  const fresh = (): string => path.join(mkdtempSync(path.join(tmpdir(), 'tramline-code-cache-')), 'cache');

  it('writes once (directory 0700, file 0600), then reads', () => {
    const dir = fresh();
    let generated = 0;
    const gen = (): string => `exports.n = ${++generated};`;
    expect(cachedCode('probe', 'k1', gen, dir)).toEqual({ source: 'exports.n = 1;', origin: 'written' });
    expect(cachedCode('probe', 'k1', gen, dir)).toEqual({ source: 'exports.n = 1;', origin: 'cache' });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'probe-k1.cjs')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['probe-k1.cjs']); // no temp file left
    // Another key is another file, generated again.
    expect(cachedCode('probe', 'k2', gen, dir)).toEqual({ source: 'exports.n = 2;', origin: 'written' });
  });

  it('never reads code others could have written, and says why', () => {
    const dir = fresh();
    const gen = (): string => 'exports.ok = true;';
    cachedCode('probe', 'k', gen, dir);
    writeFileSync(path.join(dir, 'probe-k.cjs'), 'exports.tampered = true;');
    chmodSync(path.join(dir, 'probe-k.cjs'), 0o666);
    expect(cachedCode('probe', 'k', gen, dir)).toEqual({ origin: 'unusable', problem: `${path.join(dir, 'probe-k.cjs')} is writable by others` });

    chmodSync(path.join(dir, 'probe-k.cjs'), 0o600);
    chmodSync(dir, 0o777);
    expect(cachedCode('probe', 'k', gen, dir)).toEqual({ origin: 'unusable', problem: `${dir} is writable by others` });

    const elsewhere = fresh();
    mkdirSync(elsewhere, { mode: 0o700 });
    writeFileSync(path.join(elsewhere, 'probe-k.cjs'), 'exports.tampered = true;', { mode: 0o600 });
    const link = path.join(path.dirname(elsewhere), 'linked');
    symlinkSync(elsewhere, link);
    expect(cachedCode('probe', 'k', gen, link)).toEqual({ origin: 'unusable', problem: `${link} is not a plain directory` });
  });

  it('generates nothing when the cache directory cannot be made (the caller compiles instead)', () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'tramline-code-cache-'));
    writeFileSync(path.join(parent, 'file'), '');
    let generated = 0;
    const r = cachedCode('probe', 'k', () => `exports.n = ${++generated};`, path.join(parent, 'file', 'cache'));
    expect(r.source).toBeUndefined();
    expect(r.origin).toBe('unusable');
    expect(r.problem).toMatch(/^cannot create .*file\/cache: ENOTDIR/);
    expect(generated).toBe(0);
  });
});
