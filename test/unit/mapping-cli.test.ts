// `tramline map` and `tramline test` run in-process through commander.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerMapCommand } from '../../server/cli/commands/map.js';
import { registerTestCommand } from '../../server/cli/commands/test-mappings.js';

let out: string[];
let err: string[];

beforeEach(() => {
  out = [];
  err = [];
  process.exitCode = undefined;
  jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out.push(String(s));
    return true;
  });
});

afterEach(() => {
  jest.restoreAllMocks();
  process.exitCode = undefined;
});

async function run(...args: string[]): Promise<number> {
  const program = new Command().exitOverride();
  registerMapCommand(program);
  registerTestCommand(program);
  await program.parseAsync(['node', 'tramline', ...args]);
  return Number(process.exitCode ?? 0);
}

describe('tramline map', () => {
  it('prints the FHIR bundle for an HL7 input', async () => {
    const code = await run('map', '--mapping', 'hl7v2-adt-to-fhir', '--input', 'mappings/hl7v2/cases/a03-discharge.hl7');
    expect(code).toBe(0);
    const bundle = JSON.parse(out.join(''));
    expect(bundle).toEqual(JSON.parse(readFileSync('mappings/hl7v2/cases/a03-discharge.expected.json', 'utf8')));
  });

  it('writes to --out and reports warnings on stderr', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tramline-map-')), 'out.json');
    const code = await run('map', '--mapping', 'mappings/hl7v2/adt-to-fhir.yaml', '--input', 'mappings/hl7v2/cases/a31-invalid-nhs-number.hl7', '--out', file);
    expect(code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).resourceType).toBe('Bundle');
    expect(err.join('\n')).toContain('let.nhsNumber.$first[0]: NHS number fails the Modulus 11 check');
  });

  it('exits non-zero with a clear reason on bad input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramline-map-'));
    writeFileSync(join(dir, 'bad.hl7'), 'hello\r');
    expect(await run('map', '--mapping', 'hl7v2-adt-to-fhir', '--input', join(dir, 'bad.hl7'))).toBe(1);
    expect(err[0]).toBe('tramline map: ParseError: Message does not start with an MSH segment');
    expect(await run('map', '--mapping', 'hl7v2-adt-to-fhir', '--input', join(dir, 'missing.hl7'))).toBe(1);
    expect(err.join('\n')).toContain('no such file');
  });

  it("maps the Quick start's sample message cleanly (its visit number is in PV1-19)", async () => {
    const code = await run('map', '--mapping', 'hl7v2-adt-to-fhir', '--input', 'channels/examples/messages/adt-a01.hl7');
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const bundle = JSON.parse(out.join('')) as { entry: { resource: { resourceType: string; identifier?: { value: string }[] } }[] };
    const encounter = bundle.entry.find((e) => e.resource.resourceType === 'Encounter');
    expect(encounter?.resource.identifier?.[0].value).toBe('VN000001');
  });

  it('names the HL7 field and the mapping line when a required value is missing', async () => {
    const line = readFileSync('mappings/hl7v2/adt-to-fhir.yaml', 'utf8').split('\n').findIndex((l) => l.includes('requiredSendingFacility: { $var: sendingFacility, $required: true }')) + 1;
    expect(line).toBeGreaterThan(0);
    expect(await run('map', '--mapping', 'hl7v2-adt-to-fhir', '--input', 'mappings/hl7v2/cases/error-no-sending-facility.hl7')).toBe(1);
    expect(err).toEqual([`tramline map: MappingError: mappings/hl7v2/adt-to-fhir.yaml:${line}: required value missing: MSH-4 (sendingFacility) → let.requiredSendingFacility`]);
  });

  it('names the JSONPath when a JSON mapping fails', async () => {
    expect(await run('map', '--mapping', 'social-care-cld-to-fhir', '--input', 'mappings/social-care/cases/missing-person-id.input.json')).toBe(1);
    expect(err[0]).toMatch(/^tramline map: MappingError: mappings\/social-care\/cld-to-fhir\.yaml:\d+: required value missing: \$\.person\.LA_Person_Unique_Identifier → let\.personId$/);
  });

  it('passes --param values to a json mapping', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramline-map-'));
    writeFileSync(join(dir, 'm.yaml'), 'id: t\ninput: json\nparams: [la]\noutput:\n  la: { $var: la }\n  id: { $path: $.id }\n');
    writeFileSync(join(dir, 'in.json'), '{"id":"P1"}');
    expect(await run('map', '--mapping', join(dir, 'm.yaml'), '--input', join(dir, 'in.json'), '--param', 'la=E08000035')).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual({ la: 'E08000035', id: 'P1' });
  });
});

describe('tramline test', () => {
  it('runs the shipped cases', async () => {
    expect(await run('test', 'hl7v2-adt-to-fhir')).toBe(0);
    expect(out.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
  });

  it('fails for an unknown mapping', async () => {
    expect(await run('test', 'no/such/mapping.yaml')).toBe(1);
    expect(err[0]).toContain('tramline test: no/such/mapping.yaml');
  });
});
