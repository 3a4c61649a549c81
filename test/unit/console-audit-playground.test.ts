// The console's audit filter form and the mapping playground's work (reading pasted input,
// running a shipped mapping, reporting issues with their mapping line and input field, the
// example cases), without a browser.
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MappingError } from '../../core/errors.js';
import type { Principal, Role } from '../../server/auth/roles.js';
import { landingPage } from '../../server/console/render.js';
import { parseAuditSearch, searchParams } from '../../server/console/pages/audit-search.js';
import { chosenMapping, mappingErrorIssue, PLAYGROUND_MAX_BYTES, playgroundChoices, readPlaygroundInput, runPlayground, runPlaygroundCases } from '../../server/console/pages/playground-run.js';

const file = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

describe('audit search form', () => {
  test('reads every filter, newest first, one more than a page', () => {
    const s = parseAuditSearch({ from: '2026-12-07T09:00', to: '2026-12-07T17:00', actor: 'dev.engineer', category: 'view', action: 'viewer.read', patient: '943 476 5919', outcome: 'denied', before: '120' }, 50);
    expect(s.errors).toEqual([]);
    expect(s.filter).toEqual({
      from: new Date('2026-12-07T09:00Z'),
      to: new Date('2026-12-07T17:00Z'),
      actor: 'dev.engineer',
      category: 'view',
      action: 'viewer.read',
      patient: '9434765919',
      outcome: 'denied',
      beforeSeq: 120,
      newestFirst: true,
      limit: 51,
    });
    expect(searchParams(s.form, { before: '70' }).toString()).toBe('from=2026-12-07T09%3A00&to=2026-12-07T17%3A00&actor=dev.engineer&category=view&action=viewer.read&patient=943+476+5919&outcome=denied&before=70');
  });

  test('wrong fields are errors on the form and are not searched by', () => {
    const s = parseAuditSearch({ from: 'yesterday', category: 'gossip', outcome: 'maybe', patient: '12 34', to: '' });
    expect(s.errors.map((e) => e.field).sort()).toEqual(['category', 'from', 'outcome', 'patient']);
    expect(s.filter.category).toBeUndefined();
    expect(s.filter.outcome).toBeUndefined();
    expect(parseAuditSearch({ from: '2026-12-07T10:00', to: '2026-12-07T09:00' }).errors).toEqual([{ field: 'to', text: 'The end must be after the start' }]);
  });

  test('an empty form is the whole trail, newest first', () => {
    expect(parseAuditSearch({}).filter).toEqual({ newestFirst: true, limit: 51 });
  });
});

describe('mapping playground', () => {
  const choices = playgroundChoices([
    { id: 'adt-in', pipeline: { map: 'hl7v2-adt-to-fhir' } },
    { id: 'odd', pipeline: { map: file('mappings/hl7v2/adt-to-fhir.yaml') } },
    { id: 'gone', pipeline: { map: '/nowhere/mapping.yaml' } },
  ]);
  const adt = chosenMapping(choices, 'hl7v2-adt-to-fhir')!;
  const cld = chosenMapping(choices, 'social-care-cld-to-fhir')!;

  test('offers the shipped mappings (saying which channels use them) and channels\u2019 own files, never an arbitrary path', () => {
    expect(choices.map((c) => c.value)).toEqual(['hl7v2-adt-to-fhir', 'social-care-cld-to-fhir', 'channel:odd']);
    expect(choices[0].label).toBe('hl7v2-adt-to-fhir (used by adt-in)');
    expect(chosenMapping(choices, '/etc/passwd')).toBeUndefined();
    expect(chosenMapping(choices, 'channel:gone')).toBeUndefined();
  }, 60_000);

  test('an ADT pasted with browser line ends maps to a Bundle with a Patient', () => {
    const text = readFileSync(file('mappings/hl7v2/cases/a03-discharge.hl7'), 'latin1').replace(/\r/g, '\r\n');
    const r = runPlayground(adt, text);
    expect(r.ok).toBe(true);
    const bundle = JSON.parse(r.output!) as { resourceType: string; entry: { resource: { resourceType: string } }[] };
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry.map((e) => e.resource.resourceType)).toContain('Patient');
  }, 60_000);

  test('not HL7, and HL7 missing what the mapping needs: a clear reason, the mapping line and the HL7 field', () => {
    expect(runPlayground(adt, 'hello')).toEqual({ ok: false, error: 'This is not an HL7 v2 message the engine can read. ParseError: Message does not start with an MSH segment', issues: [] });
    const r = runPlayground(adt, 'MSH|^~\\&|A|B|C|D|20261207||ADT^A01|1|P|2.4\nPID|||');
    expect(r.ok).toBe(false);
    expect(r.issues).toEqual([{ severity: 'error', message: 'required value missing: PID-3 or PID-2 or PID-3.1 or PID-2.1 → let.patientIdValue', mappingLine: expect.stringMatching(/^adt-to-fhir\.yaml:\d+$/), field: 'PID-3 or PID-2 or PID-3.1 or PID-2.1', target: 'let.patientIdValue' }]);
  });

  test('input beyond 1 MiB is refused before it is read', () => {
    const r = runPlayground(adt, 'x'.repeat(PLAYGROUND_MAX_BYTES + 1));
    expect(r).toEqual({ ok: false, error: expect.stringContaining('larger than 1 MiB'), issues: [] });
  });

  test('a CLD row as CSV (header and row) or JSON; an invalid row names its fields', () => {
    const csv = readFileSync(file('channels/examples/extracts/cld-sample.csv'), 'utf8').split('\n').slice(0, 2).join('\n');
    const fromCsv = runPlayground(cld, csv);
    expect({ ok: fromCsv.ok, readAs: fromCsv.readAs }).toEqual({ ok: true, readAs: '1 CLD row (CSV)' });
    expect(JSON.parse(fromCsv.output!)).toMatchObject({ resourceType: 'Bundle' });
    const grouped = readPlaygroundInput(cld, readFileSync(file('mappings/social-care/cases/minimal-open-and-planned-services.input.json'), 'utf8'));
    expect('readAs' in grouped && grouped.readAs).toBe('grouped CLD person (JSON)');
    const bad = runPlayground(cld, '{"LA_Code":"X26"}');
    expect(bad.error).toBe('The CLD row is not valid');
    expect(bad.issues.map((i) => i.field)).toContain('LA_Person_Unique_Identifier');
    expect(runPlayground(cld, '{"LA_Code": ').error).toMatch(/^This is not valid JSON/);
  }, 60_000);

  test('warnings come with their mapping line, the input they were read from and where they were meant to go', () => {
    const r = runPlayground(cld, readFileSync(file('mappings/social-care/cases/invalid-nhs-number.input.json'), 'utf8'));
    expect(r.ok).toBe(true);
    expect(r.issues.length).toBeGreaterThan(0);
    for (const i of r.issues) expect(i).toMatchObject({ severity: 'warning', mappingLine: expect.stringMatching(/^cld-to-fhir\.yaml:\d+$/), field: expect.stringMatching(/^\$\./), target: expect.any(String) });
  });

  test('a mapping error without a file prefix keeps its message whole', () => {
    expect(mappingErrorIssue(new MappingError('something odd', undefined, undefined, 'x'))).toEqual({ severity: 'error', message: 'something odd', target: 'x' });
  });

  test('the shipped mappings\u2019 example cases all pass', () => {
    for (const m of [adt, cld]) {
      const results = runPlaygroundCases(m);
      expect(results.length).toBeGreaterThan(0);
      expect(results.filter((r) => !r.ok)).toEqual([]);
    }
  }, 120_000);
});

describe('landing after sign-in', () => {
  const who = (role: Role): Principal => ({ kind: 'session', id: `dev.${role}`, roles: [role] });
  test('an auditor signing in to / lands on the audit trail; others where they asked', () => {
    expect(landingPage(who('auditor'), '/')).toBe('/audit');
    expect(landingPage(who('engineer'), '/')).toBe('/');
    expect(landingPage(who('auditor'), '/audit/verify')).toBe('/audit/verify');
    // No console page, but the clinicians' viewer: there.
    expect(landingPage(who('clinician'), '/')).toBe('/viewer');
    // Nothing allowed: the dashboard, which refuses them.
    expect(landingPage(who('sender'), '/')).toBe('/');
  });
});
