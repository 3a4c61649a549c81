// Social care → shared care record, end to end through real processes: a CLD extract dropped
// into the folder of a running engine reaches a FHIR server in its own process as UK Core
// resources; re-sending changes nothing; bad rows are reported; sensitive rows never leave;
// outages are retried; a rejection dead-letters with the server's OperationOutcome.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, killAllEngines, prepareEngine, ROOT, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { startFhirSandbox, type FhirSandboxProcess } from '../support/fhir-sandbox-process.js';

const SAMPLE = path.join(ROOT, 'channels/examples/extracts/cld-sample.csv');
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const PERSON = 'https://fhir.x26.gov.uk/Id/person-id';

type Bundle = { total?: number; entry?: { resource: Record<string, unknown> }[] };

describe('CLD extract → FHIR shared care record', () => {
  let fhir: FhirSandboxProcess;
  let e: EngineEnv;
  let engine: EngineProcess;
  let drops = 0;

  beforeAll(async () => {
    fhir = await startFhirSandbox();
    e = await prepareEngine({
      channelYaml: () => `id: cld
source: { type: file, directory: ./extracts, stableMs: 0, pollIntervalMs: 100 }
pipeline:
  recordFormat: cld
  map: social-care-cld-to-fhir
  exclude: [{ name: sensitive, field: Sensitivity }]
destinations:
  - name: lpres
    type: fhir
    url: ${fhir.baseUrl}
    timeoutMs: 5000
    retry: { maxAttempts: 6, initialDelayMs: 200, maxDelayMs: 1000 }
`,
    });
    mkdirSync(path.join(e.dir, 'extracts'));
    engine = await startEngine(e);
  });

  afterAll(async () => {
    await killAllEngines();
    await fhir?.close();
  });

  /** Drop a file the way a case system should (write elsewhere, rename in); wait for its report. */
  async function drop(content: string | { copyOf: string }): Promise<Record<string, unknown>> {
    const name = `extract-${++drops}.csv`;
    const tmp = path.join(e.dir, 'extracts', `.${name}.part`);
    if (typeof content === 'string') writeFileSync(tmp, content);
    else copyFileSync(content.copyOf, tmp);
    renameSync(tmp, path.join(e.dir, 'extracts', name));
    const find = () => ['processed', 'failed'].flatMap((d) => readdirSync(path.join(e.dir, 'extracts', d)).filter((f) => f.endsWith(`${name}.report.json`)).map((f) => path.join(e.dir, 'extracts', d, f)));
    const [file] = await eventually(async () => (find().length ? find() : undefined), 30000, `report for ${name}`);
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  }

  const search = async (q: string): Promise<Bundle> => (await fhir.get(q)).body as Bundle;
  const transactionsReceived = async () => (await fhir.received()).filter((r) => r.method === 'POST' && r.url === '/');

  test('the sample extract lands as UK Core resources; bad rows and sensitive rows are reported, not sent', async () => {
    const report = await drop({ copyOf: SAMPLE });
    expect(report).toMatchObject({ outcome: 'processed', excluded: { sensitive: 1 }, failed: [] });
    // Row 11 (P1004) has an impossible date: every problem of that row, and only that row.
    expect(report.rejected).toEqual([
      { row: 11, field: 'Event_End_Date', reason: 'is required' },
      { row: 11, field: 'Event_Start_Date', reason: 'must be a real date written YYYY-MM-DD' },
    ]);
    // One rejected row with two reasons: the report and the log count it once.
    expect(report).toMatchObject({ rows: 11, accepted: 9, rejectedRows: 1 });
    // The report is written before the log line, which may still be on its way through the pipe.
    const doneLines = () => engine.output().split('\n').filter((l) => l.includes('"msg":"extract done"') && l.includes(`"file":"${report.file as string}"`));
    const logged = await eventually(async () => (doneLines().length ? doneLines() : undefined), 10000, 'the extract done log line');
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0])).toMatchObject({ rows: 11, accepted: 9, rejected: 1 });
    // P1003's NHS number fails Modulus 11: sent without it, and the report says so (no value).
    expect(report.warnings).toEqual([{ rows: [10], field: 'NHS_Number', reason: 'NHS number fails the Modulus 11 check: left out, the rest sent' }]);

    const patients = await eventually(async () => {
      const b = await search(`/Patient?identifier=${PERSON}|P1001`);
      return b.entry?.length ? b : undefined;
    }, 30000, 'P1001 in the FHIR server');
    const patient = patients.entry![0].resource as { meta: { profile: string[]; versionId: string }; identifier: { system: string; value: string }[]; birthDate: string; gender: string };
    expect(patient.meta.profile).toContain('https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient');
    expect(patient.identifier).toEqual(expect.arrayContaining([expect.objectContaining({ system: NHS, value: '9434765919' }), { system: PERSON, value: 'P1001' }]));
    expect(patient.birthDate).toBe('1941-05-12');
    expect(patient.gender).toBe('female');

    // P1001's services became EpisodeOfCare resources pointing at that Patient.
    const episodes = await search(`/EpisodeOfCare?patient=Patient/${(patients.entry![0].resource as { id: string }).id}`);
    expect(episodes.entry?.length).toBeGreaterThan(0);

    // P1003's NHS number fails Modulus 11: the Patient exists, without an NHS number.
    const p1003 = await eventually(async () => (await search(`/Patient?identifier=${PERSON}|P1003`)).entry?.[0]?.resource as { identifier: { system: string }[] } | undefined);
    expect(p1003.identifier.map((i) => i.system)).not.toContain(NHS);

    // P1005 is sealed: nothing about them ever reached the server.
    const everything = JSON.stringify(await fhir.received());
    expect(everything).not.toContain('P1005');
    expect(everything).not.toContain('9990001014');
  });

  test('dropping the same extract again changes nothing (same ids and versions)', async () => {
    const before = await search(`/Patient?identifier=${PERSON}|P1001`);
    const sentBefore = (await transactionsReceived()).length;
    const report = await drop({ copyOf: SAMPLE });
    expect(report).toMatchObject({ queued: 0, unchanged: 4 });
    await new Promise((r) => setTimeout(r, 1000));
    const after = await search(`/Patient?identifier=${PERSON}|P1001`);
    expect(after.entry![0].resource).toEqual(before.entry![0].resource);
    expect((await transactionsReceived()).length).toBe(sentBefore);
  });

  test('a record sealed after it was published is retracted (entered-in-error) in the shared care record', async () => {
    const episode = async (ref: string) => (await search(`/EpisodeOfCare?identifier=https://fhir.x26.gov.uk/Id/cld-service|${ref}`)).entry?.[0]?.resource as { status: string } | undefined;
    expect((await episode('SVC-1002-2'))?.status).toBe('active');
    // The council seals P1002's current service: that row now carries a Sensitivity flag.
    const lines = readFileSync(SAMPLE, 'utf8').split('\n');
    const header = lines[0].split(',');
    const col = header.indexOf('Sensitivity');
    const sealed = lines
      .filter((l) => l.includes(',P1002,'))
      .map((l) => {
        if (!l.includes('SVC-1002-2')) return l;
        const cells = l.split(',');
        cells[col] = 'sealed-safeguarding';
        return cells.join(',');
      });
    const report = await drop([lines[0], ...sealed].join('\n') + '\n');
    expect(report).toMatchObject({ excluded: { sensitive: 1 }, retracted: 1 });
    await eventually(async () => (await episode('SVC-1002-2'))?.status === 'entered-in-error', 30000, 'SVC-1002-2 retracted');
    expect((await episode('SVC-1002-1'))?.status).not.toBe('entered-in-error');
  });

  const onePerson = (id: string, nhs: string, ref: string) =>
    [
      readFileSync(SAMPLE, 'utf8').split('\n')[0],
      readFileSync(SAMPLE, 'utf8')
        .split('\n')
        .find((l) => l.includes(',P1002,'))!
        .replace(/,P1002,9449305552,/, `,${id},${nhs},`)
        .replace(/SVC-1002-\d+|REQ-1002-\d+|ASM-1002-\d+|REV-1002-\d+/, ref),
    ].join('\n') + '\n';

  test('a server answering 503 three times, then 200, ends with the data delivered once', async () => {
    await fhir.faults([{ status: 503, times: 3, method: 'POST', path: '^/$', headers: { 'retry-after': '0' } }]);
    await fhir.clearReceived();
    const report = await drop(onePerson('P7001', '9912003888', 'SVC-7001-1'));
    expect(report).toMatchObject({ queued: 1 });
    await eventually(async () => (await search(`/Patient?identifier=${PERSON}|P7001`)).entry?.length === 1, 30000, 'P7001 delivered');
    const statuses = (await transactionsReceived()).map((r) => r.status);
    expect(statuses).toEqual([503, 503, 503, 200]);
    const p = (await search(`/Patient?identifier=${PERSON}|P7001`)).entry![0].resource as { meta: { versionId: string } };
    expect(p.meta.versionId).toBe('1');
  });

  test('a 422 dead-letters with the OperationOutcome kept in the reason', async () => {
    await fhir.faults([
      {
        status: 422,
        times: 1,
        method: 'POST',
        path: '^/$',
        body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'business-rule', diagnostics: 'Patient record locked by LPRES' }] },
      },
    ]);
    await drop(onePerson('P7002', '9434765919', 'SVC-7002-1'));
    const dead = await eventually(async () => {
      const r = await runCli(['messages', 'list', '--json', '--channel', 'cld', '--destination-status', 'dead-lettered'], e.env, e.dir);
      const list = JSON.parse(r.stdout || '[]') as { destinations: Record<string, { status: string; error?: string }> }[];
      return list.length ? list : undefined;
    }, 30000, 'a dead-lettered message');
    const state = dead[0].destinations['cld.lpres'];
    expect(state.status).toBe('dead-lettered');
    expect(state.error).toMatch(/422/);
    expect(state.error).toMatch(/business-rule/);
    expect(state.error).toMatch(/Patient record locked by LPRES/);
    // The whole OperationOutcome is kept with the message, as that destination's response.
    const shown = await runCli(['messages', 'show', (dead[0] as unknown as { id: string }).id, '--content'], e.env, e.dir);
    expect(JSON.parse(shown.stdout).destinationContent['cld.lpres'].response).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'business-rule', diagnostics: 'Patient record locked by LPRES' }] });
  });
});
