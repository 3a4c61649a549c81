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
