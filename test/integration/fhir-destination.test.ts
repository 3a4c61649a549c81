// FHIR destination against the sandbox FHIR server running in its own process: delivery,
// retry classification (503 ×3 then 200 → stored once; 422 → permanent with the
// OperationOutcome; timeout and refused connection → retryable), auth (bearer, OAuth2 client
// credentials with caching and refresh after 401, SMART Backend Services JWT assertion) and
// retraction.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Bundle, EpisodeOfCare, OperationOutcome } from 'fhir/r4.js';
import { exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey } from 'jose';
import { FhirDestination, type FhirFailureDetail } from '../../adapters/fhir/index.js';
import { DeliveryError } from '../../core/errors.js';
import type { Envelope } from '../../core/queue.js';
import { ALICE, BOB, COUNCIL_EVENT, COUNCIL_PERSON, personBundle, type PersonCase } from '../support/fhir-fixtures.js';
import { SANDBOX_HOOK_TIMEOUT_MS, startFhirSandbox, type FhirSandboxProcess } from '../support/fhir-sandbox-process.js';

function envelope(body: unknown, messageId = crypto.randomUUID()): Envelope {
  return { messageId, channel: 'social-care', routingKey: 'social-care.cld', partitionKey: 'p', body: JSON.stringify(body), headers: {} };
}

async function failure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DeliveryError) return err;
    throw err;
  }
  throw new Error('expected a DeliveryError');
}

async function episodeVersions(sandbox: FhirSandboxProcess, ref: string): Promise<string[]> {
  const search = await sandbox.get(`/EpisodeOfCare?identifier=${encodeURIComponent(`${COUNCIL_EVENT}|${ref}`)}`);
  const entries = (search.body as unknown as Bundle).entry ?? [];
  return entries.map((e) => e.resource!.meta!.versionId!);
}

let counter = 0;
/** A person no other test uses (NHS numbers are optional in this flow; the council id keys). */
function freshPerson(): PersonCase {
  counter++;
  return { ...ALICE, personId: `T${process.pid}-${counter}`, events: [{ ref: `EV-${process.pid}-${counter}`, start: '2026-04-01' }] };
}

describe('FHIR destination without authentication', () => {
  let sandbox: FhirSandboxProcess;
  beforeAll(async () => {
    sandbox = await startFhirSandbox();
  }, SANDBOX_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(async () => {
    await sandbox.faults([]);
  });

  it('delivers a transaction Bundle that can then be read back', async () => {
    const destination = new FhirDestination({ url: sandbox.baseUrl }, {});
    await destination.open();
    await destination.deliver(envelope(personBundle(ALICE)));
    const search = await sandbox.get(`/Patient?identifier=${encodeURIComponent(`${COUNCIL_PERSON}|${ALICE.personId}`)}&_revinclude=EpisodeOfCare:patient`);
    const types = ((search.body as unknown as Bundle).entry ?? []).map((e) => e.resource!.resourceType);
    expect(types).toEqual(['Patient', 'EpisodeOfCare', 'EpisodeOfCare']);
    const posts = (await sandbox.received()).filter((r) => r.method === 'POST');
    expect(posts.map((r) => [r.url, r.status, (r.body as Bundle).type])).toEqual([['/', 200, 'transaction']]);
  });

  it('uses TRAMLINE_LPRES_URL when the channel names no url', async () => {
    const destination = new FhirDestination({}, { TRAMLINE_LPRES_URL: sandbox.baseUrl });
    await destination.open();
    const person = freshPerson();
    await destination.deliver(envelope(personBundle(person)));
    expect(await episodeVersions(sandbox, person.events[0].ref)).toEqual(['1']);
  });

  it('503 three times then 200: retryable three times, then delivered and stored once', async () => {
    const destination = new FhirDestination({ url: sandbox.baseUrl }, {});
    await destination.open();
    await sandbox.faults([{ method: 'POST', path: '^/$', status: 503, times: 3, headers: { 'retry-after': '2' }, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: 'maintenance' }] } }]);
    await sandbox.clearReceived();
    const person = freshPerson();
    const message = envelope(personBundle(person));
    const errors: DeliveryError[] = [];
    for (let attempt = 1; attempt <= 10; attempt++) {
      try {
        await destination.deliver(message); // the dispatcher's redelivery of the same envelope
        break;
      } catch (err) {
        errors.push(err as DeliveryError);
      }
    }
    expect(errors.map((e) => [e.retryable, e.retryAfterMs])).toEqual([
      [true, 2000],
      [true, 2000],
      [true, 2000],
    ]);
    expect(errors[0].message).toMatch(/HTTP 503 \(transient: maintenance\)/);
    const posts = (await sandbox.received()).filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    expect(await episodeVersions(sandbox, person.events[0].ref)).toEqual(['1']);

    // A redelivery after success (at-least-once) changes nothing either.
    await destination.deliver(message);
    expect(await episodeVersions(sandbox, person.events[0].ref)).toEqual(['1']);
  });

  it('429 is retryable too', async () => {
    const destination = new FhirDestination({ url: sandbox.baseUrl }, {});
    await destination.open();
    await sandbox.faults([{ method: 'POST', status: 429, times: 1 }]);
    const err = await failure(destination.deliver(envelope(personBundle(freshPerson()))));
    expect(err.retryable).toBe(true);
  });

  it('422 from the server is permanent and keeps its OperationOutcome', async () => {
    const destination = new FhirDestination({ url: sandbox.baseUrl }, {});
    await destination.open();
    const bundle = personBundle(freshPerson());
    (bundle.entry![2].resource as unknown as Record<string, unknown>).status = 'on-hold-ish';
    const err = await failure(destination.deliver(envelope(bundle)));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^POST transaction http:\/\/127\.0\.0\.1:\d+\/fhir: HTTP 422 \(processing: /);
    expect(err.message.length).toBeLessThan(300);
    const detail = err.detail as FhirFailureDetail;
    expect(detail.status).toBe(422);
    const outcome = detail.operationOutcome as OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue.some((i) => /entry\[2\]\.resource\/status/.test(i.diagnostics ?? ''))).toBe(true);
  });

  it('a body that is not a transaction Bundle is permanent without a request', async () => {
    const destination = new FhirDestination({ url: sandbox.baseUrl }, {});
    await destination.open();
    expect((await failure(destination.deliver(envelope({ resourceType: 'Patient' })))).retryable).toBe(false);
    expect((await failure(destination.deliver({ ...envelope({}), body: 'MSH|^~\\&|' }))).retryable).toBe(false);
  });

  it('a timeout is retryable', async () => {
    const destination = new FhirDestination({ url: sandbox.baseUrl, timeoutMs: 300 }, {});
    await destination.open();
    await sandbox.faults([{ method: 'POST', delayMs: 3000, status: 200, times: 1 }]);
    const err = await failure(destination.deliver(envelope(personBundle(freshPerson()))));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/no response within 300 ms/);
  });

  it('a refused connection is retryable', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((r) => closed.close(() => r()));
    const destination = new FhirDestination({ url: `http://127.0.0.1:${port}/fhir` }, {});
    await destination.open();
    const err = await failure(destination.deliver(envelope(personBundle(freshPerson()))));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  /** A plain HTTP server answering every request with `answer`; what it was sent. */
  async function scriptedServer(answer: (res: http.ServerResponse) => void) {
    const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        answer(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}/fhir`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it('posts the envelope body byte for byte, as FHIR JSON, with the message id, and reports the answer', async () => {
    const server = await scriptedServer((res) =>
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(JSON.stringify({ resourceType: 'Bundle', type: 'transaction-response', entry: [{ response: { status: '201 Created' } }] })),
    );
    const destination = new FhirDestination({ url: server.url }, {});
    try {
      await destination.open();
      const env = envelope(personBundle(freshPerson()));
      const report = await destination.deliver(env);
      expect(server.seen).toHaveLength(1);
      const [request] = server.seen;
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/fhir');
      expect(request.body).toBe(env.body);
      expect(request.headers['content-type']).toBe('application/fhir+json');
      expect(request.headers['x-request-id']).toBe(env.messageId);
      expect(report.sent).toBe(env.body);
      expect(JSON.parse(report.response ?? '')).toEqual({ resourceType: 'Bundle', type: 'transaction-response', entry: [{ response: { status: '201 Created' } }] });
    } finally {
      await destination.close();
      await server.close();
    }
  });

  it('503 with Retry-After: retryable after the time the server asked for', async () => {
    const server = await scriptedServer((res) => res.writeHead(503, { 'retry-after': '7' }).end());
    const destination = new FhirDestination({ url: server.url }, {});
    try {
      await destination.open();
      const err = await failure(destination.deliver(envelope(personBundle(freshPerson()))));
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(7000);
      expect((err.detail as FhirFailureDetail).status).toBe(503);
    } finally {
      await destination.close();
      await server.close();
    }
  });

  it('an answer cut short is retryable: the server may not have finished', async () => {
    const server = await scriptedServer((res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': '1000' });
      res.write('{"resourceType":"Bundle","type":"transaction-res');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const destination = new FhirDestination({ url: server.url }, {});
    try {
      await destination.open();
      const err = await failure(destination.deliver(envelope(personBundle(freshPerson()))));
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/answer cut short/);
    } finally {
      await destination.close();
      await server.close();
    }
  });

  it('a redirect is not followed: permanent, and the transaction is posted once', async () => {
    const server = await scriptedServer((res) => res.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' }).end());
    const destination = new FhirDestination({ url: server.url }, {});
    try {
      await destination.open();
      const err = await failure(destination.deliver(envelope(personBundle(freshPerson()))));
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/HTTP 307/);
      expect(server.seen).toHaveLength(1);
    } finally {
      await destination.close();
      await server.close();
    }
  });

  it('retracts published resources: entered-in-error by conditional reference, or delete', async () => {
    const destination = new FhirDestination({ url: sandbox.baseUrl }, {});
    await destination.open();
    const person = { ...freshPerson(), events: [{ ref: `EV-R1-${process.pid}`, start: '2026-01-01' }, { ref: `EV-R2-${process.pid}`, start: '2026-01-02' }] };
    await destination.deliver(envelope(personBundle(person)));

    const first = `EpisodeOfCare?identifier=${encodeURIComponent(`${COUNCIL_EVENT}|${person.events[0].ref}`)}`;
    const results = await destination.retract([first]);
    expect(results).toEqual([{ reference: first, target: expect.stringMatching(/^EpisodeOfCare\//), outcome: 'entered-in-error' }]);
    const read = await sandbox.get(`/${results[0].target}`);
    expect((read.body as unknown as EpisodeOfCare).status).toBe('entered-in-error');
    expect((read.body as unknown as EpisodeOfCare).meta!.versionId).toBe('2');
    expect((await destination.retract([first]))[0].outcome).toBe('already-retracted');

    const second = `EpisodeOfCare?identifier=${encodeURIComponent(`${COUNCIL_EVENT}|${person.events[1].ref}`)}`;
    const deleted = await destination.retract([second], 'delete');
    expect(deleted[0].outcome).toBe('deleted');
    expect((await sandbox.get(`/${deleted[0].target}`)).status).toBe(410);
    expect((await destination.retract([second], 'delete'))[0].outcome).toBe('not-found');

    // As a retraction message from the pipeline: a Patient has no entered-in-error status,
    // so it is deleted; the council's Organization is shared and stays.
    const patient = `Patient?identifier=${encodeURIComponent(`${COUNCIL_PERSON}|${person.personId}`)}`;
    const organization = personBundle(person).entry![0].request!.url;
    await sandbox.clearReceived();
    await destination.deliver({ ...envelope({ mode: 'entered-in-error', references: [patient, organization] }), headers: { kind: 'retraction' } });
    const writes = (await sandbox.received()).filter((r) => r.method !== 'GET');
    expect(writes.map((r) => [r.method, r.url.split('/')[1], r.status])).toEqual([['DELETE', 'Patient', 204]]);
    expect((await destination.retract([organization]))[0].outcome).toBe('kept-shared');
  });
});

describe('FHIR destination with authentication', () => {
  let sandbox: FhirSandboxProcess;
  let tokenServer: http.Server;
  let tokenUrl: string;
  let tokenRequests: URLSearchParams[] = [];
  let tokenAuthHeaders: (string | undefined)[] = [];
  /** What the token endpoint does with a request: a token to issue, or an error status. */
  let issue: (form: URLSearchParams, authorization: string | undefined) => Promise<{ token?: string; status?: number }>;
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-smart-'));

  beforeAll(async () => {
    sandbox = await startFhirSandbox({ tokens: ['static-token'] });
    tokenServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        tokenRequests.push(form);
        tokenAuthHeaders.push(req.headers.authorization);
        void issue(form, req.headers.authorization).then(({ token, status }) => {
          if (!token) return res.writeHead(status ?? 400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client' }));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'bearer', expires_in: 3600 }));
        });
      });
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', () => r()));
    tokenUrl = `http://127.0.0.1:${(tokenServer.address() as { port: number }).port}/oauth2/token`;
  }, SANDBOX_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await sandbox?.close();
    await new Promise<void>((r) => (tokenServer ? tokenServer.close(() => r()) : r()));
    fs.rmSync(keyDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    tokenRequests = [];
    tokenAuthHeaders = [];
    await sandbox.acceptTokens(['static-token']);
  });

  it('bearer token from the environment; a wrong one is a permanent 401', async () => {
    const destination = new FhirDestination({ url: sandbox.baseUrl, auth: { type: 'bearer', tokenEnv: 'LPRES_TOKEN' } }, { LPRES_TOKEN: 'static-token' });
    await destination.open();
    await destination.deliver(envelope(personBundle(BOB)));
    expect((await sandbox.received()).at(-1)).toMatchObject({ status: 200, authorization: 'Bearer static-token' });

    const wrong = new FhirDestination({ url: sandbox.baseUrl, auth: { type: 'bearer', tokenEnv: 'LPRES_TOKEN' } }, { LPRES_TOKEN: 'guess' });
    await wrong.open();
    const err = await failure(wrong.deliver(envelope(personBundle(BOB))));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/HTTP 401/);
    await expect(new FhirDestination({ url: sandbox.baseUrl, auth: { type: 'bearer', tokenEnv: 'LPRES_TOKEN' } }, {}).open()).rejects.toThrow(/LPRES_TOKEN is not set/);
  });

  it('OAuth2 client credentials: token fetched once and cached, refreshed once after a 401', async () => {
    let next = 'oauth-1';
    issue = async (form, authorization) => {
      const expected = `Basic ${Buffer.from('tramline:s3cret').toString('base64')}`;
      if (form.get('grant_type') !== 'client_credentials' || authorization !== expected) return { status: 401 };
      return { token: next };
    };
    await sandbox.acceptTokens(['oauth-1']);
    const destination = new FhirDestination(
      { url: sandbox.baseUrl, auth: { type: 'oauth2-client-credentials', tokenUrl, clientId: 'tramline', clientSecretEnv: 'LPRES_SECRET', scope: 'system/*.write', clientAuthentication: 'basic' } },
      { LPRES_SECRET: 's3cret' },
    );
    await destination.open();
    await destination.deliver(envelope(personBundle(freshPerson())));
    await destination.deliver(envelope(personBundle(freshPerson())));
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0].get('scope')).toBe('system/*.write');

    // The server rotates: the cached token now gets 401, a fresh one is fetched once.
    next = 'oauth-2';
    await sandbox.acceptTokens(['oauth-2']);
    await sandbox.clearReceived();
    await destination.deliver(envelope(personBundle(freshPerson())));
    expect(tokenRequests).toHaveLength(2);
    expect((await sandbox.received()).map((r) => [r.status, r.authorization])).toEqual([
      [401, 'Bearer oauth-1'],
      [200, 'Bearer oauth-2'],
    ]);

    // Client secret as form fields instead of HTTP Basic.
    issue = async (form, authorization) => (!authorization && form.get('client_id') === 'tramline' && form.get('client_secret') === 's3cret' ? { token: 'oauth-2' } : { status: 401 });
    const post = new FhirDestination(
      { url: sandbox.baseUrl, auth: { type: 'oauth2-client-credentials', tokenUrl, clientId: 'tramline', clientSecretEnv: 'LPRES_SECRET', clientAuthentication: 'post' } },
      { LPRES_SECRET: 's3cret' },
    );
    await post.open();
    await post.deliver(envelope(personBundle(freshPerson())));
  });

  it('a token endpoint refusing the client is permanent; one that is down is retryable', async () => {
    const destination = new FhirDestination(
      { url: sandbox.baseUrl, auth: { type: 'oauth2-client-credentials', tokenUrl, clientId: 'tramline', clientSecretEnv: 'LPRES_SECRET', clientAuthentication: 'basic' } },
      { LPRES_SECRET: 'wrong' },
    );
    await destination.open();
    issue = async () => ({ status: 401 });
    const refused = await failure(destination.deliver(envelope(personBundle(freshPerson()))));
    expect(refused.retryable).toBe(false);
    expect(refused.message).toMatch(/token endpoint .*HTTP 401 \(invalid_client\)/);
    expect(refused.message).not.toContain('wrong');
    issue = async () => ({ status: 503 });
    expect((await failure(destination.deliver(envelope(personBundle(freshPerson()))))).retryable).toBe(true);
  });

  it.each(['ES384', 'RS384'] as const)('SMART Backend Services: a %s-signed client assertion the token endpoint verifies', async (algorithm) => {
    const { privateKey, publicKey } = await generateKeyPair(algorithm, { extractable: true });
    const keyFile = path.join(keyDir, `${algorithm}.pem`);
    fs.writeFileSync(keyFile, await exportPKCS8(privateKey as CryptoKey), { mode: 0o600 });
    const seenJtis = new Set<string>();
    issue = async (form) => {
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return { status: 400 };
      try {
        const { payload, protectedHeader } = await jwtVerify(form.get('client_assertion')!, publicKey, { issuer: 'tramline-backend', subject: 'tramline-backend', audience: tokenUrl, algorithms: [algorithm] });
        if (protectedHeader.kid !== 'key-1' || !payload.jti || seenJtis.has(payload.jti) || payload.exp! - Math.floor(Date.now() / 1000) > 300) return { status: 401 };
        seenJtis.add(payload.jti);
        return form.get('scope') === 'system/*.write' ? { token: 'smart-token' } : { status: 400 };
      } catch {
        return { status: 401 };
      }
    };
    await sandbox.acceptTokens(['smart-token']);
    const auth = { type: 'smart-backend' as const, tokenUrl, clientId: 'tramline-backend', privateKeyFile: keyFile, algorithm, keyId: 'key-1', scope: 'system/*.write' };
    const destination = new FhirDestination({ url: sandbox.baseUrl, auth }, {});
    await destination.open();
    await destination.deliver(envelope(personBundle(freshPerson())));
    expect(tokenRequests).toHaveLength(1);
    expect((await sandbox.received()).at(-1)).toMatchObject({ status: 200, authorization: 'Bearer smart-token' });

    // The same key from an environment variable (PEM with literal \n, as env files hold it).
    const pem = fs.readFileSync(keyFile, 'utf8').replace(/\n/g, '\\n');
    const fromEnv = new FhirDestination({ url: sandbox.baseUrl, auth: { ...auth, privateKeyFile: undefined, privateKeyEnv: 'SMART_KEY' } }, { SMART_KEY: pem });
    await fromEnv.open();
    await fromEnv.deliver(envelope(personBundle(freshPerson())));
    await expect(new FhirDestination({ url: sandbox.baseUrl, auth: { ...auth, privateKeyFile: path.join(keyDir, 'missing.pem') } }, {}).open()).rejects.toThrow(/cannot be read/);
  });
});
