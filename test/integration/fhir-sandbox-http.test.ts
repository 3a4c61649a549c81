// The sandbox FHIR server over HTTP, in its own process: transaction, read, vread, history,
// search with _revinclude, CapabilityStatement and OperationOutcome errors.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Bundle, OperationOutcome } from 'fhir/r4.js';
import { ALICE, COUNCIL_EVENT, NHS, personBundle } from '../support/fhir-fixtures.js';
import { SANDBOX_HOOK_TIMEOUT_MS, startFhirSandbox, type FhirSandboxProcess } from '../support/fhir-sandbox-process.js';

const FHIR_JSON = 'application/fhir+json';
let sandbox: FhirSandboxProcess;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${sandbox.baseUrl}${path}`, {
    method,
    headers: { accept: FHIR_JSON, ...(body !== undefined ? { 'content-type': FHIR_JSON } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

beforeAll(async () => {
  sandbox = await startFhirSandbox();
}, SANDBOX_HOOK_TIMEOUT_MS);
afterAll(async () => {
  await sandbox?.close();
});

describe('sandbox FHIR server over HTTP', () => {
  it('serves a CapabilityStatement', async () => {
    const res = await call('GET', '/metadata');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(res.body).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', kind: 'instance' });
  });

  it("takes a transaction and serves a person's record by NHS number", async () => {
    const tx = await call('POST', '', personBundle(ALICE));
    expect(tx.status).toBe(200);
    const response = tx.body as unknown as Bundle;
    expect(response.type).toBe('transaction-response');
    const patientLocation = response.entry![1].response!.location!;

    const read = await call('GET', `/${patientLocation.replace(/\/_history\/\d+$/, '')}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('W/"1"');
    expect(read.body).toMatchObject({ resourceType: 'Patient', meta: { versionId: '1' } });

    const search = await call('GET', `/Patient?identifier=${encodeURIComponent(`${NHS}|${ALICE.nhsNumber}`)}&_revinclude=EpisodeOfCare:patient`);
    expect(search.status).toBe(200);
    const bundle = search.body as unknown as Bundle;
    expect(bundle).toMatchObject({ type: 'searchset', total: 1 });
    expect(bundle.entry!.map((e) => [e.resource!.resourceType, e.search!.mode])).toEqual([
      ['Patient', 'match'],
      ['EpisodeOfCare', 'include'],
      ['EpisodeOfCare', 'include'],
    ]);
    expect(bundle.entry![0].fullUrl).toBe(`${sandbox.baseUrl}/${patientLocation.replace(/\/_history\/\d+$/, '')}`);
  });

  it('keeps versions: update, vread, history', async () => {
    const created = await call('POST', '/Organization', { resourceType: 'Organization', name: 'Day Centre' });
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^${sandbox.baseUrl}/Organization/[^/]+/_history/1$`));
    const id = (created.body as { id: string }).id;
    const same = await call('PUT', `/Organization/${id}`, { resourceType: 'Organization', id, name: 'Day Centre' });
    expect(same.status).toBe(200);
    expect(same.headers.get('etag')).toBe('W/"1"');
    const updated = await call('PUT', `/Organization/${id}`, { resourceType: 'Organization', id, name: 'Day Centre North' });
    expect(updated.headers.get('etag')).toBe('W/"2"');
    expect((await call('GET', `/Organization/${id}/_history/1`)).body).toMatchObject({ name: 'Day Centre' });
    const history = (await call('GET', `/Organization/${id}/_history`)).body as unknown as Bundle;
    expect(history.type).toBe('history');
    expect(history.entry!.map((e) => e.response!.etag)).toEqual(['W/"2"', 'W/"1"']);
    const stale = await call('PUT', `/Organization/${id}`, { resourceType: 'Organization', id, name: 'x' }, { 'if-match': 'W/"1"' });
    expect(stale.status).toBe(412);
    expect((await call('DELETE', `/Organization/${id}`)).status).toBe(204);
    expect((await call('GET', `/Organization/${id}`)).status).toBe(410);
  });

  it('conditional update by identifier over REST: 0 matches creates, 1 updates', async () => {
    const url = `/EpisodeOfCare?identifier=${encodeURIComponent(`${COUNCIL_EVENT}|EV-REST`)}`;
    const patient = (await call('POST', '/Patient', { resourceType: 'Patient', name: [{ family: 'Restful' }] })).body as { id: string };
    const body = { resourceType: 'EpisodeOfCare', identifier: [{ system: COUNCIL_EVENT, value: 'EV-REST' }], status: 'active', patient: { reference: `Patient/${patient.id}` } };
    const first = await call('PUT', url, body);
    expect(first.status).toBe(201);
    const second = await call('PUT', url, { ...body, status: 'finished' });
    expect(second.status).toBe(200);
    expect((second.body as { id: string }).id).toBe((first.body as { id: string }).id);
    expect(second.headers.get('etag')).toBe('W/"2"');
  });

  it('answers errors with OperationOutcome and the right status', async () => {
    const malformed = await call('POST', '', '{"resourceType": "Bundle",');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ resourceType: 'OperationOutcome' });

    const missing = await call('GET', '/Patient/does-not-exist');
    expect(missing.status).toBe(404);
    expect((missing.body as unknown as OperationOutcome).issue[0].code).toBe('not-found');

    const invalid = await call('POST', '/Patient', { resourceType: 'Patient', gender: 'sometimes' });
    expect(invalid.status).toBe(422);
    const outcome = invalid.body as unknown as OperationOutcome;
    expect(outcome.issue.some((i) => /gender/.test(i.diagnostics ?? ''))).toBe(true);

    const unknownParam = await call('GET', '/Patient?nickname=x');
    expect(unknownParam.status).toBe(400);

    const wrongType = await call('POST', '/Patient', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(wrongType.status).toBe(415);
  });
});
