// POST /inbound/<channel> on a running engine: authenticated (sender role), records validated
// and mapped, a batch report back; request problems answered with FHIR OperationOutcomes.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, killAllEngines, prepareEngine, ROOT, runCli, startEngine, type EngineEnv } from '../support/engine.js';

/** CSV sample rows of one person as JSON records (the shape a case system would POST). */
function sampleRecords(person: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(path.join(ROOT, 'channels/examples/extracts/cld-sample.csv'), 'utf8').trim().split('\n');
  const names = header.split(',');
  return rows.filter((r) => r.includes(`,${person},`)).map((r) => Object.fromEntries(r.split(',').map((v, i) => [names[i], v])));
}

describe('HTTP record source', () => {
  let e: EngineEnv;
  let base: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    e = await prepareEngine({
      channelYaml: () => `id: cld-push
source: { type: http, maxRecords: 50 }
pipeline: { recordFormat: cld, map: social-care-cld-to-fhir }
destinations:
  - { name: out, type: file, directory: ./bundles }
`,
    });
    mkdirSync(path.join(e.dir, 'bundles'));
    for (const role of ['sender', 'clinician']) {
      const r = await runCli(['tokens', 'create', '--name', `t-${role}`, '--role', role], e.env, e.dir);
      expect(r.code).toBe(0);
      tokens[role] = r.stdout.trim().split('\n').pop()!.trim();
    }
    await startEngine(e);
    base = `http://127.0.0.1:${e.httpPort}/inbound`;
  });

  afterAll(() => killAllEngines());

  const post = (pathName: string, body: unknown, token?: string, type = 'application/json') =>
    fetch(`${base}/${pathName}`, {
      method: 'POST',
      headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('no credential → 401; a role without inbound:post → 403', async () => {
    expect((await post('cld-push', sampleRecords('P1002'))).status).toBe(401);
    expect((await post('cld-push', sampleRecords('P1002'), tokens.clinician)).status).toBe(403);
  });

  test('a sender posts records: 202 with the batch report, and the mapped bundle is delivered', async () => {
    const records = [...sampleRecords('P1002'), { ...sampleRecords('P1002')[0], Event_Start_Date: '2026-02-30', Event_Reference: 'SVC-1002-9' }];
    const res = await post('cld-push', records, tokens.sender);
    expect(res.status).toBe(202);
    const report = (await res.json()) as Record<string, unknown>;
    expect(report).toMatchObject({ source: 'http', rows: 3, accepted: 2, queued: 1 });
    const rejected = report.rejected as { row: number; field: string }[];
    expect(rejected).toContainEqual(expect.objectContaining({ row: 3, field: 'Event_Start_Date' }));
    expect(rejected.every((p) => p.row === 3)).toBe(true);
    const file = await eventually(async () => readdirSync(path.join(e.dir, 'bundles')).find((f) => f.endsWith('.hl7') || f.endsWith('.json')));
    const bundle = JSON.parse(readFileSync(path.join(e.dir, 'bundles', file), 'utf8')) as { resourceType: string; entry: unknown[] };
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry.length).toBeGreaterThan(1);
  });

  test.each([
    ['an unknown channel', 'no-such-channel', [{}], 'application/json', 404, 'not-found'],
    ['a body that is not JSON', 'cld-push', 'NHS_Number=1', 'text/plain', 415, 'not-supported'],
    ['broken JSON', 'cld-push', '[{"a":', 'application/json', 400, 'structure'],
    ['JSON nested 3,000 deep', 'cld-push', `[{"a":${'['.repeat(3000)}${']'.repeat(3000)}}]`, 'application/json', 400, 'structure'],
    ['too many records', 'cld-push', Array.from({ length: 51 }, () => ({})), 'application/json', 413, 'too-long'],
    ['only bad records', 'cld-push', [{ LA_Code: 'X26' }], 'application/json', 422, 'invalid'],
  ])('%s is answered with an OperationOutcome', async (_what, channel, body, type, status, code) => {
    const res = await post(channel, body, tokens.sender, type);
    expect(res.status).toBe(status);
    const outcome = (await res.json()) as { resourceType: string; issue: { code: string }[] };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0].code).toBe(code);
  });
});
