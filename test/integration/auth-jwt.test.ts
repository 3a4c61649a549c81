// JWTs for people, the way NHS CIS2 / OIDC issues them: RS256 signed, keys from the provider's
// JWKS URL (served here over real HTTP), issuer and audience checked, provider role codes mapped
// to Tramline roles. And the failed-authentication rate limit on a live engine.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { JwtRejected, JwtVerifier } from '../../server/auth/jwt.js';
import { loadAuthSettings } from '../../server/auth/settings.js';
import { eventually } from '../support/engine.js';
import { startApiEngine } from './api-engine.js';

const ISSUER = 'https://idp.example.test/oauth2';
let server: http.Server;
let jwksUrl: string;
let signingKey: CryptoKey;
let otherKey: CryptoKey;
let verifier: JwtVerifier;

function sign(claims: Record<string, unknown>, o: { key?: CryptoKey; iss?: string; aud?: string; exp?: string; sub?: string | null } = {}): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(o.iss ?? ISSUER).setAudience(o.aud ?? 'tramline').setIssuedAt().setExpirationTime(o.exp ?? '10m');
  if (o.sub !== null) jwt = jwt.setSubject(o.sub ?? '555123456789');
  return jwt.sign(o.key ?? signingKey);
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = http.createServer((req, res) => {
    if (req.url === '/jwks.json') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  verifier = await JwtVerifier.create(
    loadAuthSettings({ TRAMLINE_JWT_JWKS_URL: jwksUrl, TRAMLINE_JWT_ISSUER: ISSUER, TRAMLINE_JWT_ROLES_CLAIM: 'nhsid_roles', TRAMLINE_JWT_ROLE_MAP: 'R8000=clinician,R8008=auditor', TRAMLINE_JWT_ORG_CLAIM: 'org_code' }, '/tmp/unused'),
  );
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

describe('JWT from a JWKS issuer', () => {
  test('a valid token becomes a principal with mapped roles and organisation', async () => {
    const token = await sign({ nhsid_roles: ['R8000', 'R9999'], org_code: 'RXL', name: 'Dr Test Person' });
    expect(await verifier.verify(token)).toEqual({ kind: 'jwt', id: '555123456789', roles: ['clinician'], organisation: 'RXL', name: 'Dr Test Person' });
  });

  test('roles as a space-separated string; unknown codes give no roles', async () => {
    expect((await verifier.verify(await sign({ nhsid_roles: 'R8008 R8000' }))).roles.sort()).toEqual(['auditor', 'clinician']);
    expect((await verifier.verify(await sign({ nhsid_roles: ['R1'] }))).roles).toEqual([]);
  });

  test.each([
    ['wrong issuer', () => sign({}, { iss: 'https://evil.example' })],
    ['wrong audience', () => sign({}, { aud: 'other-app' })],
    ['expired', () => sign({}, { exp: '-5m' })],
    ['signed with another key', () => sign({}, { key: otherKey })],
    ['no subject', () => sign({}, { sub: null })],
    ['unsigned (alg none)', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: 'tramline', sub: 'x', exp: 9999999999 })).toString('base64url')}.`],
    ['not a JWT', async () => 'abc.def'],
  ])('%s is rejected', async (_name, make) => {
    await expect(verifier.verify(await make())).rejects.toBeInstanceOf(JwtRejected);
  });

  test('a dev-issuer token is refused when the dev issuer is not trusted', async () => {
    const { signDevJwt } = await import('../../server/auth/dev-issuer.js');
    const os = await import('node:os');
    const path = await import('node:path');
    const file = path.join(os.tmpdir(), `tramline-devkey-${process.pid}-${Date.now()}.json`);
    const token = await signDevJwt(file, { user: 'u', roles: ['admin'], audience: 'tramline' });
    (await import('node:fs')).rmSync(file, { force: true });
    await expect(verifier.verify(token)).rejects.toThrow(/no JWT issuer/);
  });
});

describe('failed authentication rate limit', () => {
  test('after the limit, the client address gets 429 (audited); other clients behind the proxy do not', async () => {
    const e = await startApiEngine({ env: { TRAMLINE_AUTH_FAILURE_LIMIT: '3', TRAMLINE_TRUST_PROXY: 'loopback' } });
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    try {
      for (let i = 0; i < 3; i++) expect((await e.call('GET', '/api/me', { token: 'tl_guess' + i, headers: from('203.0.113.9') })).status).toBe(401);
      const limited = await e.call('GET', '/api/me', { token: 'tl_guess4', headers: from('203.0.113.9') });
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({ error: { status: 429, title: 'too many requests', detail: expect.any(String) } });
      expect((await e.call('GET', '/api/me', { token: 'tl_guess5', headers: from('203.0.113.10') })).status).toBe(401);
      expect((await e.call('GET', '/api/me', { token: e.tokens.operator, headers: from('203.0.113.11') })).status).toBe(200);
      const entry = await eventually(async () => (await e.running.instrumented.audit.query({ outcome: 'failure' })).find((r) => r.detail?.status === 429));
      expect(entry).toMatchObject({ action: 'GET /api/me', sourceIp: '203.0.113.9' });
    } finally {
      await e.close();
    }
  });
});
