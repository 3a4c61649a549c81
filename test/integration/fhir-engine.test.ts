// The sandbox FHIR store inside a running engine: /fhir behind the admin API's guards
// (401 without a token, 403 for a role that may not, audited), and the engine's own FHIR
// destinations reaching it with no url and no TRAMLINE_LPRES_URL.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Bundle } from 'fhir/r4.js';
import { FhirDestination } from '../../adapters/fhir/index.js';
import { COUNCIL_PERSON, personBundle, type PersonCase } from '../support/fhir-fixtures.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';

let engine: ApiEngine;
const FHIR = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
const person: PersonCase = { nhsNumber: '9912003888', personId: 'P-ENGINE-1', family: 'Enginefield', events: [{ ref: 'EV-ENGINE-1', start: '2026-05-01' }] };

beforeAll(async () => {
  engine = await startApiEngine();
});
afterAll(async () => {
  await engine?.close();
});

async function fhir(method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${engine.base}/fhir${path}`, {
    method,
    headers: { ...FHIR, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined };
}

describe('/fhir in the engine', () => {
  it('CapabilityStatement is public; everything else needs a token and the right role', async () => {
    expect((await fhir('GET', '/metadata')).status).toBe(200);
    expect((await fhir('GET', '/Patient')).status).toBe(401);
    expect((await fhir('POST', '', undefined, personBundle(person))).status).toBe(401);
    expect((await fhir('POST', '', engine.tokens.clinician, personBundle(person))).status).toBe(403);
    expect((await fhir('GET', '/Patient', engine.tokens.auditor)).status).toBe(403);
  });

  it('engineers write, clinicians read; outside requests are audited', async () => {
    const tx = await fhir('POST', '', engine.tokens.engineer, personBundle(person));
    expect(tx.status).toBe(200);
    const search = await fhir('GET', `/Patient?identifier=${encodeURIComponent(`${COUNCIL_PERSON}|${person.personId}`)}&_revinclude=EpisodeOfCare:patient`, engine.tokens.clinician);
    expect(search.status).toBe(200);
    expect(((search.body as unknown as Bundle).entry ?? []).map((e) => e.resource!.resourceType)).toEqual(['Patient', 'EpisodeOfCare']);
    await engine.running.instrumented.audit.flush();
    const audit = await engine.call('GET', '/api/audit?limit=200', { token: engine.tokens.auditor });
    const actions = JSON.stringify(audit.body);
    expect(actions).toContain('/fhir/Patient');
  });

  it("the engine's FHIR destination with no url delivers into its own sandbox", async () => {
    const destination = new FhirDestination({}, {});
    await destination.open();
    const other: PersonCase = { ...person, personId: 'P-ENGINE-2', events: [{ ref: 'EV-ENGINE-2', start: '2026-05-02' }] };
    await destination.deliver({ messageId: crypto.randomUUID(), channel: 'c', routingKey: 'c.record.bundle', partitionKey: 'p', body: JSON.stringify(personBundle(other)), headers: { kind: 'bundle' } });
    const search = await fhir('GET', `/Patient?identifier=${encodeURIComponent(`${COUNCIL_PERSON}|${other.personId}`)}`, engine.tokens.clinician);
    expect((search.body as unknown as Bundle).total).toBe(1);
  });
});
