// The engine's /fhir and /api as a third-party client and an attacker meet them, on SQLite and
// PostgreSQL: type and system history (paged, followed with fhir-kit-client), a
// CapabilityStatement that lists only what each type supports and says how to authenticate,
// 406 for XML, OperationOutcomes for 401/403, Patient search by name and birth date, links
// built from the configured public URL (never the Host header), no caching of person data,
// too-deep JSON, NUL bytes and out-of-range version ids refused with 4xx and still audited.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Bundle, CapabilityStatement, OperationOutcome } from 'fhir/r4.js';
import { Client } from 'fhir-kit-client';
import { uniquePgUrl } from '../support/db.js';
import { ROOT } from '../support/engine.js';
import { ALICE, personBundle } from '../support/fhir-fixtures.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';

const FHIR = 'application/fhir+json';
const stores = [
  ['sqlite', () => undefined],
  ['postgres', () => uniquePgUrl('fhirconf')],
] as const;

/** A request with exactly these headers (fetch will not send a Host of our choosing). */
function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

function nested(depth: number): string {
  return `{"resourceType":"Patient","extension":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

describe.each(stores)('/fhir conformance and hardening (%s store)', (_name, storeUrl) => {
  let e: ApiEngine;
  let patientId: string;
  let port: number;

  const fhir = async (method: string, path: string, o: { token?: string; body?: string; headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${e.base}/fhir${path}`, {
      method,
      headers: { ...(o.body !== undefined ? { 'content-type': FHIR } : {}), ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers },
      body: o.body,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };

  beforeAll(async () => {
    e = await startApiEngine({ dbUrl: storeUrl() });
    port = e.running.httpPort;
    const tx = await fhir('POST', '', { token: e.tokens.engineer, body: JSON.stringify(personBundle(ALICE)) });
    expect(tx.status).toBe(200);
    patientId = /^Patient\/([^/]+)/.exec(((tx.body as unknown as Bundle).entry![1].response!.location)!)![1];
    const patient = await fhir('GET', `/Patient/${patientId}`, { token: e.tokens.clinician });
    const withDetails = { ...patient.body, name: [{ family: 'Brontë', given: ['Zoë'] }], birthDate: '1950-03-14' };
    expect((await fhir('PUT', `/Patient/${patientId}`, { token: e.tokens.engineer, body: JSON.stringify(withDetails) })).status).toBe(200);
  });
  afterAll(async () => {
    await e?.close();
  });

  it('type and system history: paged history Bundles with request and response, followed by fhir-kit-client', async () => {
    const client = new Client({ baseUrl: `${e.base}/fhir`, customHeaders: { authorization: `Bearer ${e.tokens.clinician}` } });
    const typeHistory = (await client.typeHistory({ resourceType: 'Patient' })) as unknown as Bundle;
    expect(typeHistory).toMatchObject({ resourceType: 'Bundle', type: 'history', total: 2 });
    expect(typeHistory.entry!.map((x) => [x.request!.method, x.request!.url, x.response!.status, x.response!.etag])).toEqual([
      ['PUT', `Patient/${patientId}`, '200 OK', 'W/"2"'],
      ['POST', 'Patient', '201 Created', 'W/"1"'],
    ]);
    const system = (await client.systemHistory()) as unknown as Bundle;
    expect(system.total).toBe(5); // Organization, Patient ×2, EpisodeOfCare ×2
    const firstPage = (await client.request('_history?_count=2')) as unknown as Bundle;
    expect(firstPage.entry).toHaveLength(2);
    const seen = firstPage.entry!.map((x) => x.fullUrl);
    let page: Bundle | undefined = firstPage;
    while (page && page.link?.some((l) => l.relation === 'next')) {
      page = (await client.nextPage({ bundle: page as unknown as Parameters<Client['nextPage']>[0]['bundle'] })) as unknown as Bundle | undefined;
      seen.push(...(page?.entry ?? []).map((x) => x.fullUrl));
    }
    expect(seen).toHaveLength(5);
    expect(seen.every((u) => u!.startsWith(`http://localhost:${port}/fhir/`))).toBe(true);
    expect((await fhir('GET', '/Patient/_history?_count=x', { token: e.tokens.clinician })).status).toBe(400);
    expect((await fhir('GET', '/Patient/no-such-patient/_history', { token: e.tokens.clinician })).status).toBe(404);
  });

  it('CapabilityStatement: open, per-type search parameters, rest.security', async () => {
    const client = new Client({ baseUrl: `${e.base}/fhir` });
    const cs = (await client.capabilityStatement()) as unknown as CapabilityStatement;
    const rest = cs.rest![0];
    const params = (type: string) => rest.resource!.find((r) => r.type === type)!.searchParam!.map((p) => p.name);
    expect(params('Patient')).toEqual(expect.arrayContaining(['_id', 'identifier', 'name', 'family', 'given', 'birthdate', 'organization', 'general-practitioner']));
    expect(params('Patient')).not.toEqual(expect.arrayContaining(['author']));
    expect(params('Patient')).not.toContain('based-on');
    expect(params('Patient')).not.toContain('status');
    expect(params('EpisodeOfCare')).toEqual(expect.arrayContaining(['patient', 'status', 'care-manager']));
    expect(params('EpisodeOfCare')).not.toContain('name');
    expect(rest.security!.service![0].coding![0]).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' });
    expect(rest.security!.description).toMatch(/Bearer/);
    expect(rest.interaction!.map((i) => i.code)).toContain('history-system');
    // Every parameter it lists is accepted on that type (none refused as unknown).
    for (const r of rest.resource!) {
      for (const p of r.searchParam!) {
        const value = p.type === 'date' ? '1950' : p.type === 'reference' ? 'Patient/x' : p.type === 'string' ? 'abc' : 'x';
        const res = await fhir('GET', `/${r.type}?${p.name}=${encodeURIComponent(value)}&_count=0`, { token: e.tokens.clinician });
        expect([r.type, p.name, res.status]).toEqual([r.type, p.name, 200]);
      }
    }
  });

  it('XML is refused with 406 and an OperationOutcome; JSON forms are served', async () => {
    for (const [path, headers] of [
      ['/metadata', { accept: 'application/fhir+xml' }],
      ['/Patient', { accept: 'application/xml' }],
      ['/metadata?_format=xml', {}],
      ['/metadata?_format=application/fhir%2Bxml', {}],
    ] as const) {
      const res = await fhir('GET', path, { token: e.tokens.clinician, headers });
      expect([path, res.status]).toEqual([path, 406]);
      expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
    for (const path of ['/metadata?_format=json', '/metadata?_format=application/fhir+json']) expect((await fhir('GET', path)).status).toBe(200);
    expect((await fhir('GET', '/metadata', { headers: { accept: 'application/fhir+json, application/fhir+xml;q=0.9' } })).status).toBe(200);
  });

  it('401, 403 and 404 under /fhir are OperationOutcomes', async () => {
    const unauthenticated = await fhir('GET', '/Patient');
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect((unauthenticated.body as unknown as OperationOutcome).issue[0]).toMatchObject({ severity: 'error', code: 'login' });
    const forbidden = await fhir('GET', '/Patient', { token: e.tokens.auditor });
    expect(forbidden.status).toBe(403);
    expect((forbidden.body as unknown as OperationOutcome).issue[0].code).toBe('forbidden');
    expect((await fhir('POST', '', { token: e.tokens.clinician, body: '{}' })).body.resourceType).toBe('OperationOutcome');
  });

  it('Patient search by name, family, given and birthdate over HTTP', async () => {
    const client = new Client({ baseUrl: `${e.base}/fhir`, customHeaders: { authorization: `Bearer ${e.tokens.clinician}` } });
    const ids = async (searchParams: Record<string, string>) => ((await client.search({ resourceType: 'Patient', searchParams })) as unknown as Bundle).entry?.map((x) => x.resource!.id) ?? [];
    expect(await ids({ family: 'bronte' })).toEqual([patientId]);
    expect(await ids({ name: 'ZO' })).toEqual([patientId]);
    expect(await ids({ 'given:exact': 'Zoë' })).toEqual([patientId]);
    expect(await ids({ 'given:exact': 'zoe' })).toEqual([]);
    expect(await ids({ 'family:contains': 'ont' })).toEqual([patientId]);
    expect(await ids({ birthdate: '1950-03' })).toEqual([patientId]);
    expect(await ids({ birthdate: 'gt1950-03-14' })).toEqual([]);
    expect(await ids({ birthdate: 'le1950' })).toEqual([patientId]);
    expect((await fhir('GET', '/Patient?birthdate=14/03/1950', { token: e.tokens.clinician })).status).toBe(400);
  });

  it('links and fullUrls come from the public URL, never the Host header; answers are not cached', async () => {
    const headers = { host: 'evil.example:666', 'x-forwarded-host': 'evil.example', authorization: `Bearer ${e.tokens.clinician}`, accept: FHIR };
    for (const path of [`/fhir/Patient?_id=${patientId}`, `/fhir/Patient/${patientId}/_history`, '/fhir/metadata']) {
      const res = await rawGet(port, path, headers);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.body).not.toContain('evil.example');
      expect(res.body).toContain(`http://localhost:${port}/fhir`);
      expect(res.headers['cache-control']).toBe('no-store');
    }
    expect((await fhir('GET', `/Patient/${patientId}`, { token: e.tokens.clinician })).headers.get('cache-control')).toBe('no-store');
    expect((await e.call('GET', '/api/messages', { token: e.tokens.operator })).headers.get('cache-control')).toBe('no-store');
  });

  it('JSON nested too deep is a 400, under /fhir as an OperationOutcome; bodies over the limit are 413', async () => {
    const deep = await fhir('POST', '/Patient', { token: e.tokens.engineer, body: nested(3000) });
    expect(deep.status).toBe(400);
    expect(deep.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(deep.body)).toMatch(/nested deeper than 100/);
    expect((await fhir('POST', '/Patient', { token: e.tokens.engineer, body: nested(90) })).status).not.toBe(400);
    const api = await e.call('POST', '/api/mappings/cld-person-to-fhir/dry-run', { token: e.tokens.engineer, body: nested(3000) });
    expect(api.status).toBe(400);
    expect(api.body.error.detail).toMatch(/nested deeper than 100/);
    const big = await fhir('POST', '/Patient', { token: e.tokens.engineer, body: JSON.stringify({ resourceType: 'Patient', text: { div: 'x'.repeat(21 * 1024 * 1024) } }) });
    expect(big.status).toBe(413);
    expect(big.body.resourceType).toBe('OperationOutcome');
    expect((await e.call('POST', '/api/channels/validate', { token: e.tokens.engineer, contentType: 'application/yaml', body: 'x'.repeat(1100 * 1024) })).status).toBe(413);
  });

  it('NUL in a query or path and out-of-range version ids are 4xx, and each request is audited', async () => {
    const cases: [string, () => Promise<{ status: number; body: Record<string, unknown> }>, string][] = [
      ['/fhir/Patient?identifier=%00', () => fhir('GET', '/Patient?identifier=%00', { token: e.tokens.clinician }), 'OperationOutcome'],
      ['/fhir/Patient?family=a%00', () => fhir('GET', '/Patient?family=a%00', { token: e.tokens.clinician }), 'OperationOutcome'],
      ['/fhir/Patient/%00', () => fhir('GET', '/Patient/%00', { token: e.tokens.clinician }), 'OperationOutcome'],
      ['/fhir/Patient/x/_history/99999999999999999999', () => fhir('GET', '/Patient/x/_history/99999999999999999999', { token: e.tokens.clinician }), 'OperationOutcome'],
      ['/fhir/Patient/x/_history/0', () => fhir('GET', '/Patient/x/_history/0', { token: e.tokens.clinician }), 'OperationOutcome'],
      ['/api/messages/%00', () => e.call('GET', '/api/messages/%00', { token: e.tokens.operator }), 'error'],
      ['/api/messages', () => e.call('GET', '/api/messages?patient=%00', { token: e.tokens.operator }), 'error'],
      ['/api/audit', () => e.call('GET', '/api/audit?actor=%00', { token: e.tokens.auditor }), 'error'],
    ];
    await e.running.instrumented.audit.flush();
    const before = Math.max(0, ...(await e.running.instrumented.audit.query({ limit: 10_000 })).map((x) => x.seq));
    for (const [target, send, shape] of cases) {
      const res = await send();
      expect([target, res.status]).toEqual([target, 400]);
      expect(shape === 'error' ? res.body.error : res.body.resourceType).toBeTruthy();
    }
    const deleted = await fhir('POST', '/Patient', { token: e.tokens.engineer, body: JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'https://example.org/id', value: 'a\u0000b' }] }) });
    expect(deleted.status).toBe(400);
    await e.running.instrumented.audit.flush();
    // One entry per refused request (the query is not recorded: it may hold patient data).
    const refused = (await e.running.instrumented.audit.query({ limit: 10_000 })).filter((x) => x.seq > before && (x.detail as { status?: number } | undefined)?.status === 400);
    expect(refused.map((x) => [x.target, x.outcome])).toEqual([...cases.map(([target]) => [target.split('?')[0], 'failure']), ['/fhir/Patient', 'failure']]);
  });

  it('a mapping dry-run error does not show where the server keeps its files', async () => {
    const res = await e.call('POST', '/api/mappings/hl7v2-adt-to-fhir/dry-run', { token: e.tokens.engineer, contentType: 'text/plain', body: 'MSH|^~\\&|A|B|C|D|20260101||ADT^A01|X1|P|2.4\rPID|1||' });
    expect(res.status).toBe(422);
    expect(res.text).toMatch(/adt-to-fhir\.yaml:\d+/);
    expect(res.text).not.toContain(ROOT);
    expect(res.text).not.toMatch(/"\/[^"]*\/mappings\//);
  });
});

it('TRAMLINE_PUBLIC_URL is the base of every link', async () => {
  const e = await startApiEngine({ publicUrl: 'https://tramline.example.org' });
  try {
    const created = await e.call('POST', '/fhir/Organization', { token: e.tokens.engineer, contentType: FHIR, body: { resourceType: 'Organization', name: 'Day Centre' } });
    expect(created.headers.get('location')).toMatch(/^https:\/\/tramline\.example\.org\/fhir\/Organization\/[^/]+\/_history\/1$/);
    const res = await rawGet(e.running.httpPort, '/fhir/Organization/_history', { host: 'evil.example', authorization: `Bearer ${e.tokens.clinician}` });
    const bundle = JSON.parse(res.body) as Bundle;
    expect([...bundle.link!.map((l) => l.url), ...bundle.entry!.map((x) => x.fullUrl)].every((u) => u!.startsWith('https://tramline.example.org/fhir/'))).toBe(true);
    const cs = (await e.call('GET', '/fhir/metadata')).body as CapabilityStatement;
    expect(cs.implementation!.url).toBe('https://tramline.example.org/fhir');
  } finally {
    await e.close();
  }
});
