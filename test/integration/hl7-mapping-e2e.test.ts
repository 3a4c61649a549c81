// An MLLP channel with a mapping: each ADT is mapped to a FHIR transaction Bundle before it is
// queued (the file destination receives the Bundle); a message that cannot be mapped is
// stored, answered AE with an ERR segment, and recorded as errored — never forwarded raw.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { eventually, killAllEngines, prepareEngine, runCli, startEngine, type EngineEnv } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';

describe('MLLP channel with an HL7 v2 → FHIR mapping', () => {
  let e: EngineEnv;
  let client: MllpClient;
  const outDir = () => path.join(e.dir, 'bundles');

  beforeAll(async () => {
    e = await prepareEngine({
      channelYaml: (port) => `id: adt-fhir
source: { type: mllp, host: 127.0.0.1, port: ${port} }
pipeline: { map: hl7v2-adt-to-fhir }
destinations:
  - name: out
    type: file
    directory: ./bundles
    fileName: "{controlId}.json"
`,
    });
    mkdirSync(outDir());
    await startEngine(e);
    client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 30000 });
  });

  afterAll(async () => {
    await client?.close();
    await killAllEngines();
  });

  test('a mapped ADT^A01 is delivered as a FHIR transaction Bundle', async () => {
    expect(parseAckCode(await client.send(adt({ controlId: 'MAP0001', nhsNumber: NHS_NUMBERS[1] }))).code).toBe('AA');
    const file = await eventually(async () => readdirSync(outDir()).find((f) => f === 'MAP0001.json'));
    const bundle = JSON.parse(readFileSync(path.join(outDir(), file), 'utf8')) as { resourceType: string; type: string; entry: { resource: { resourceType: string; identifier?: { system: string; value: string }[] }; request: { url: string } }[] };
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    const patient = bundle.entry.find((x) => x.resource.resourceType === 'Patient')!;
    // Keyed on the trust's MRN (scoped to MSH-4), never on the NHS number other sources' Patients carry too.
    expect(patient.request.url).toBe('Patient?identifier=urn:tramline:id:RCB:RCB|RCBMAP0001');
    expect(patient.resource.identifier).toEqual(expect.arrayContaining([expect.objectContaining({ system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS_NUMBERS[1] })]));
    expect(bundle.entry.some((x) => x.resource.resourceType === 'Encounter')).toBe(true);
  });

  test('an unknown patient class is accepted (AA) and mapped, with the warning in the message history', async () => {
    // A PAS's local class code (PV1-2 `DAY CASE`) the code map lacks, and MSH-2 written twice.
    const text = adt({ controlId: 'MAP0003', nhsNumber: NHS_NUMBERS[2] })
      .replace('MSH|^~\\&|', 'MSH|^~\\&^~\\&|')
      .replace(/^PV1\|1\|I\|/m, 'PV1|1|DAY CASE|');
    expect(text).toContain('PV1|1|DAY CASE|');
    expect(parseAckCode(await client.send(text))).toMatchObject({ code: 'AA', controlId: 'MAP0003' });
    const file = await eventually(async () => readdirSync(outDir()).find((f) => f === 'MAP0003.json'));
    const bundle = JSON.parse(readFileSync(path.join(outDir(), file), 'utf8')) as { entry: { resource: { resourceType: string; class?: unknown; type?: unknown } }[] };
    const encounter = bundle.entry.find((x) => x.resource.resourceType === 'Encounter')!;
    expect(encounter.resource.class).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/v3-NullFlavor', code: 'UNK', display: 'unknown' });
    expect(encounter.resource.type).toEqual([{ text: 'DAY CASE' }]);

    const [listed] = JSON.parse((await runCli(['messages', 'list', '--json', '--control-id', 'MAP0003'], e.env, e.dir)).stdout) as { id: string }[];
    const shown = JSON.parse((await runCli(['messages', 'show', listed.id], e.env, e.dir)).stdout) as { events: { event: string; detail?: string }[] };
    const warnings = shown.events.find((ev) => ev.event === 'warnings');
    expect(warnings?.detail).toContain('MSH-2 holds 8 characters');
    expect(warnings?.detail).toContain('let.patientClass: code "DAY CASE" is not in code map hl7-0004-encounter-class');
  });

  test('a message the mapping cannot handle gets AE with an ERR segment and is recorded as errored', async () => {
    const noPid = adt({ controlId: 'MAP0002' })
      .split('\r')
      .filter((s) => !s.startsWith('PID'))
      .join('\r');
    const ack = await client.send(noPid);
    expect(parseAckCode(ack)).toMatchObject({ code: 'AE', controlId: 'MAP0002' });
    expect(ack).toMatch(/\rERR\|/);
    const list = JSON.parse((await runCli(['messages', 'list', '--json', '--control-id', 'MAP0002'], e.env, e.dir)).stdout) as { status: string; error: string }[];
    expect(list[0]).toMatchObject({ status: 'errored' });
    expect(list[0].error).toMatch(/^(MappingError|ValidationError|ParseError)/);
    expect(readdirSync(outDir())).not.toContain('MAP0002.json');
  });
});
