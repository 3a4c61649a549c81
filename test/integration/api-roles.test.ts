// Every admin API route × every role, against a real in-process engine: a role gets 403 exactly
// where its row in the permission table says no, never 401; no credentials, a bad token, a
// revoked token or a tampered JWT get 401; both denials are audited.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { apiRoutes } from '../../server/api/router.js';
import { signDevJwt } from '../../server/auth/dev-issuer.js';
import { allows, ROLES } from '../../server/auth/roles.js';
import { TokenStore } from '../../server/auth/tokens.js';
import { eventually } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';
import path from 'node:path';

let e: ApiEngine;
let messageId: string;

beforeAll(async () => {
  e = await startApiEngine();
  await e.mllp.send(adt({ controlId: 'ROLE0001', nhsNumber: NHS_NUMBERS[0] }));
  const [m] = await e.running.opened.store.list({ controlId: 'ROLE0001' });
  messageId = m.id;
});

afterAll(async () => {
  await e?.close();
});

/** A request each route accepts from an allowed caller (status may still be 4xx for content reasons, never 401/403). */
function requestFor(route: ReturnType<typeof apiRoutes>[number]): { url: string; body?: unknown; contentType?: string } {
  const url = '/api' + route.path.replace(':id', route.path.startsWith('/channels') ? 'adt-in' : route.path.startsWith('/tokens') ? 'no-such-token' : route.path.startsWith('/mappings') ? 'no-such-mapping' : messageId);
  switch (route.operationId) {
    case 'validateChannel':
      return { url, body: 'id: x\n', contentType: 'application/yaml' };
    case 'reprocessMessages':
      return { url, body: { ids: [messageId] } };
    case 'replayDeadLetters':
      return { url, body: { destination: 'adt-in.inbox', messageIds: ['none'] } };
    case 'discardDeadLetters':
      return { url, body: { destination: 'adt-in.inbox', messageIds: ['none'], reason: 'test' } };
    case 'createToken':
      return { url, body: { name: `made-${Math.random().toString(36).slice(2)}`, roles: ['operator'] } };
    case 'dryRunMapping':
      return { url, body: 'MSH|^~\\&|', contentType: 'text/plain' };
    default:
      return { url };
  }
}

const routes = apiRoutes();
const cases = routes.flatMap((route) => ROLES.map((role) => [`${route.method.toUpperCase()} ${route.path}`, role, route] as const));

describe('role × endpoint', () => {
  test.each(cases)('%s as %s', async (_label, role, route) => {
    const { url, body, contentType } = requestFor(route);
    const res = await e.call(route.method.toUpperCase(), url, { token: e.tokens[role], body, contentType });
    const allowed = route.permission === null || allows([role], route.permission);
    if (allowed) {
      expect([401, 403]).not.toContain(res.status);
    } else {
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: { status: 403, title: 'forbidden' } });
    }
  });

  test('every route without credentials is 401 with a Bearer challenge', async () => {
    for (const route of routes) {
      const { url, body, contentType } = requestFor(route);
      const res = await e.call(route.method.toUpperCase(), url, { body, contentType });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.body).toEqual({ error: { status: 401, title: 'unauthenticated', detail: expect.any(String) } });
    }
  });

  test('/metrics: 401 without a token, 403 for clinician and auditor, 200 for operator', async () => {
    expect((await e.call('GET', '/metrics')).status).toBe(401);
    expect((await e.call('GET', '/metrics', { token: e.tokens.clinician })).status).toBe(403);
    expect((await e.call('GET', '/metrics', { token: e.tokens.auditor })).status).toBe(403);
    expect((await e.call('GET', '/metrics', { token: e.tokens.operator })).status).toBe(200);
  });

  test('health endpoints need no authentication', async () => {
    expect((await e.call('GET', '/healthz')).status).toBe(200);
    expect((await e.call('GET', '/readyz')).status).toBe(200);
  });
});

describe('credentials', () => {
  test('unknown, malformed and revoked tokens are 401', async () => {
    expect((await e.call('GET', '/api/channels', { token: 'tl_not-a-real-token' })).status).toBe(401);
    expect((await e.call('GET', '/api/channels', { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } })).status).toBe(401);
    const store = new TokenStore(e.running.opened.db);
    const made = await store.create({ name: 'short-lived', roles: ['operator'] });
    expect((await e.call('GET', '/api/channels', { token: made.token })).status).toBe(200);
    expect(await store.revoke('short-lived')).toBe(1);
    expect((await e.call('GET', '/api/channels', { token: made.token })).status).toBe(401);
  });

  test('a dev-issuer JWT works for its role; a tampered, expired or wrong-audience one is 401', async () => {
    const keyFile = path.join(e.config.dataDir, 'dev-jwt-key.json');
    const jwt = await signDevJwt(keyFile, { user: 'alex.auditor', roles: ['auditor'], organisation: 'BPL', audience: 'tramline' });
    expect((await e.call('GET', '/api/audit/verify', { token: jwt })).status).toBe(200);
    expect((await e.call('GET', '/api/channels', { token: jwt })).status).toBe(403);
    const me = await e.call('GET', '/api/me', { token: jwt });
    expect(me.body).toMatchObject({ kind: 'jwt', id: 'alex.auditor', roles: ['auditor'], organisation: 'BPL', permissions: ['audit:read'] });

    const [h, p, s] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = [h, Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url'), s].join('.');
    expect((await e.call('GET', '/api/audit/verify', { token: forged })).status).toBe(401);
    const expired = await signDevJwt(keyFile, { user: 'x', roles: ['admin'], audience: 'tramline', ttlSeconds: -120 });
    expect((await e.call('GET', '/api/me', { token: expired })).status).toBe(401);
    const otherAudience = await signDevJwt(keyFile, { user: 'x', roles: ['admin'], audience: 'someone-else' });
    expect((await e.call('GET', '/api/me', { token: otherAudience })).status).toBe(401);
  });

  test('401 and 403 are both audited with who, from where and the outcome', async () => {
    await e.call('GET', '/api/channels/adt-in', { token: 'tl_wrong' });
    await e.call('GET', '/api/channels/adt-in', { token: e.tokens.clinician });
    const { audit } = e.running.instrumented;
    // Repeated 401s of one client are counted into one entry per window (auth-limit.test.ts):
    // the first of the window is written at once.
    const unauth = await eventually(async () => (await audit.query({ outcome: 'unauthenticated', limit: 10000 })).find((r) => /API token/.test(String(r.detail?.reason))));
    expect(unauth).toMatchObject({ category: 'auth', action: expect.stringMatching(/^GET \/api\//), sourceIp: expect.stringContaining('127.0.0.1'), detail: { status: 401, count: 1, reason: expect.stringMatching(/API token/) } });
    expect(unauth.actor).toBeUndefined();
    const denied = await eventually(async () => (await audit.query({ outcome: 'denied', actor: 'test-clinician', limit: 10000 })).find((r) => r.target === '/api/channels/adt-in'));
    expect(denied).toMatchObject({ category: 'api', action: 'GET /api/channels/:id', actor: { id: 'test-clinician', kind: 'token', role: 'clinician' }, detail: { status: 403 } });
  });
});
