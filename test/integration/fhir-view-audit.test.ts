// A person reading someone's record through /fhir is a record view in the audit trail, and
// that person's access history (GET /api/audit?patient=…) lists it — with purpose and any
// break-glass reason. The engine's own deliveries are not views.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startApiEngine, type ApiEngine } from './api-engine.js';

let e: ApiEngine;
beforeAll(async () => {
  e = await startApiEngine();
});
afterAll(async () => {
  await e?.close();
});

const NHS = '9434765919';

test('a clinician reading a Patient is audited as a view of that person', async () => {
  const created = await e.call('PUT', `/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|${NHS}`, {
    token: e.tokens.engineer,
    contentType: 'application/fhir+json',
    body: { resourceType: 'Patient', identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS }], birthDate: '1950-01-01' },
  });
  expect([200, 201]).toContain(created.status);

  const read = await e.call('GET', `/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|${NHS}`, {
    token: e.tokens.clinician,
    headers: { 'x-purpose-of-use': 'direct care', 'x-break-glass-reason': 'unconscious patient in ED' },
  });
  expect(read.status).toBe(200);
  expect(read.body.entry).toHaveLength(1);

  const history = await e.call('GET', `/api/audit?patient=${NHS}`, { token: e.tokens.auditor });
  expect(history.status).toBe(200);
  expect(history.body.resourceType).toBe('Bundle');
  const text = JSON.stringify(history.body);
  expect(text).toContain('test-clinician');
  expect(text).toContain('unconscious patient in ED');
  // The engineer's write is not a view of the record.
  const views = (history.body.entry as { resource: { agent?: { who?: { display?: string; identifier?: { value?: string } } }[] } }[]).filter((x) =>
    JSON.stringify(x.resource).includes('test-engineer'),
  );
  expect(views).toHaveLength(0);
});

test('reads of any resource about a person are views of that person, whatever the type', async () => {
  const OTHER = '9449305552';
  const nhs = (value: string) => ({ system: 'https://fhir.nhs.uk/Id/nhs-number', value });
  const write = async (method: string, path: string, body: unknown) => {
    const res = await e.call(method, `/fhir${path}`, { token: e.tokens.engineer, contentType: 'application/fhir+json', body });
    expect([path, res.status]).toEqual([path, method === 'POST' ? 201 : res.status === 201 ? 201 : 200]);
    return res.body as { id: string };
  };
  const patient = await write('PUT', `/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|${OTHER}`, { resourceType: 'Patient', identifier: [nhs(OTHER)] });
  const nameless = await write('POST', '/Patient', { resourceType: 'Patient', gender: 'unknown' });
  const subject = { reference: `Patient/${patient.id}` };
  const episode = await write('POST', '/EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: subject });
  await write('POST', '/ServiceRequest', { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject });
  const encounter = await write('POST', '/Encounter', { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject });
  await write('POST', '/Flag', { resourceType: 'Flag', status: 'active', code: { text: 'x' }, subject: { reference: `Patient/${nameless.id}` } });

  const views = async () => {
    await e.running.instrumented.audit.flush();
    return (await e.running.instrumented.audit.query({ category: 'view', limit: 10_000 })).map((x) => `${x.patient} ${(x.detail as { section?: string }).section} ${x.purpose}`);
  };
  const before = (await views()).length;
  const reads = [
    `/fhir/EpisodeOfCare?patient=Patient/${patient.id}`,
    `/fhir/ServiceRequest?subject=Patient/${patient.id}`,
    `/fhir/Encounter/${encounter.id}`,
    `/fhir/EpisodeOfCare/${episode.id}/_history`,
    `/fhir/Encounter/${encounter.id}/_history/1`,
    '/fhir/Flag?status=active',
    '/fhir/EpisodeOfCare/_history',
  ];
  for (const path of reads) {
    const res = await e.call('GET', path, { token: e.tokens.clinician, headers: { 'x-purpose-of-use': 'care planning' } });
    expect([path, res.status]).toEqual([path, 200]);
  }
  expect((await views()).slice(before)).toEqual([
    `${OTHER} fhir:EpisodeOfCare care planning`,
    `${OTHER} fhir:ServiceRequest care planning`,
    `${OTHER} fhir:Encounter care planning`,
    `${OTHER} fhir:EpisodeOfCare care planning`,
    `${OTHER} fhir:Encounter care planning`,
    // A person without an NHS number is named by their Patient id, never left out.
    `Patient/${nameless.id} fhir:Flag care planning`,
    `${OTHER} fhir:EpisodeOfCare care planning`,
  ]);
  // The person's access history lists them.
  const history = await e.call('GET', `/api/audit?patient=${OTHER}&category=view`, { token: e.tokens.auditor });
  expect(history.body.total).toBeGreaterThanOrEqual(reads.length - 1);
});
