// The failed-authentication limit and denial auditing on a live engine: one count per client
// address across every authenticated mount, a valid credential never refused, and a flood of
// bad credentials written as a few audit entries whose counts add up (written when the window
// closes, or at shutdown).
import { describe, expect, test } from '@jest/globals';
import { loadAuditKey } from '../../server/audit/key.js';
import { AuditTrail } from '../../server/audit/trail.js';
import type { AuditRecord } from '../../server/audit/types.js';
import { openDatabase } from '../../adapters/store/db.js';
import { eventually, runCli } from '../support/engine.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';

const from = (ip: string) => ({ 'x-forwarded-for': ip });

async function entriesFrom(trail: Pick<AuditTrail, 'query'>, ip: string): Promise<AuditRecord[]> {
  return (await trail.query({ category: 'auth', limit: 10_000 })).filter((r) => r.sourceIp === ip);
}

function countsByStatus(entries: AuditRecord[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const r of entries) sums[String(r.detail?.status)] = (sums[String(r.detail?.status)] ?? 0) + Number(r.detail?.count);
  return sums;
}

/** `n` requests with made-up tokens from `ip`, `parallel` at a time; their statuses. */
async function flood(e: ApiEngine, ip: string, n: number, parallel = 25): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i += parallel) {
    const batch = Array.from({ length: Math.min(parallel, n - i) }, (_, j) => e.call('GET', '/api/me', { token: `tl_guess${i + j}`, headers: from(ip) }));
    statuses.push(...(await Promise.all(batch)).map((r) => r.status));
  }
  return statuses;
}

describe('denial auditing', () => {
  test('a flood of bad tokens is a few audit entries: the first at once, the rest counted and written at shutdown', async () => {
    const e = await startApiEngine({ env: { TRAMLINE_AUTH_FAILURE_LIMIT: '20', TRAMLINE_AUTH_DENIAL_AUDIT_SECONDS: '3600', TRAMLINE_TRUST_PROXY: 'loopback' } });
    const ip = '203.0.113.20';
    try {
      const statuses = await flood(e, ip, 300);
      expect(statuses.filter((s) => s === 401)).toHaveLength(20);
      expect(statuses.filter((s) => s === 429)).toHaveLength(280);
      // The attack is visible at once: the first 401 and the first 429, one entry each.
      const early = await eventually(async () => {
        const rows = await entriesFrom(e.running.instrumented.audit, ip);
        return rows.length === 2 && rows;
      });
      expect(early.map((r) => [r.detail?.status, r.detail?.count, r.outcome])).toEqual(
        expect.arrayContaining([
          [401, 1, 'unauthenticated'],
          [429, 1, 'failure'],
        ]),
      );
      await e.running.stop();
      const db = await openDatabase(e.config.dbUrl);
      try {
        const rows = await entriesFrom(new AuditTrail(db, { key: loadAuditKey(e.config) }), ip);
        expect(rows.length).toBeLessThanOrEqual(4);
        expect(countsByStatus(rows)).toEqual({ 401: 20, 429: 280 });
        expect(rows.find((r) => r.detail?.aggregated)?.detail).toMatchObject({ reason: expect.any(String), firstAt: expect.any(String), lastAt: expect.any(String) });
      } finally {
        await db.close();
      }
    } finally {
      await e.close();
    }
  });

  test('when the window closes, the counts of the window are written', async () => {
    const e = await startApiEngine({ env: { TRAMLINE_AUTH_DENIAL_AUDIT_SECONDS: '1', TRAMLINE_TRUST_PROXY: 'loopback' } });
    const ip = '203.0.113.21';
    try {
      expect(new Set(await flood(e, ip, 60))).toEqual(new Set([401]));
      const rows = await eventually(async () => {
        const found = await entriesFrom(e.running.instrumented.audit, ip);
        return countsByStatus(found)['401'] === 60 && found;
      }, 10_000, 'all 60 denials counted');
      expect(rows.length).toBeLessThanOrEqual(6);
    } finally {
      await e.close();
    }
  });
});

describe('failed-authentication limit', () => {
  test('a valid token or JWT is let through from an address that is over the limit', async () => {
    const e = await startApiEngine({ env: { TRAMLINE_AUTH_FAILURE_LIMIT: '3', TRAMLINE_TRUST_PROXY: 'loopback' } });
    const ip = '203.0.113.30';
    try {
      expect(await flood(e, ip, 5, 1)).toEqual([401, 401, 401, 429, 429]);
      expect((await e.call('GET', '/api/me', { token: e.tokens.admin, headers: from(ip) })).status).toBe(200);
      expect((await e.call('GET', '/metrics', { token: e.tokens.operator, headers: from(ip) })).status).toBe(200);
      expect((await e.call('GET', '/fhir/Patient', { token: e.tokens.admin, headers: from(ip) })).status).toBe(200);
      const jwt = await runCli(['tokens', 'dev-jwt', '--user', 'sam.clinician', '--role', 'clinician'], e.env, e.dir);
      expect((await e.call('GET', '/api/me', { token: jwt.stdout.trim(), headers: from(ip) })).status).toBe(200);
      // Still refused for the guesser.
      expect((await e.call('GET', '/api/me', { token: 'tl_guess-again', headers: from(ip) })).status).toBe(429);
      expect((await e.call('GET', '/api/me', { headers: from(ip) })).status).toBe(429);
    } finally {
      await e.close();
    }
  });

  test('failures spread over /api, /fhir, /metrics and /inbound count against one limit per address', async () => {
    const e = await startApiEngine({ env: { TRAMLINE_AUTH_FAILURE_LIMIT: '8', TRAMLINE_TRUST_PROXY: 'loopback' } });
    const ip = '203.0.113.40';
    const bad = { token: 'tl_not-a-token', headers: from(ip) };
    try {
      for (let i = 0; i < 2; i++) {
        expect((await e.call('GET', '/api/me', bad)).status).toBe(401);
        expect((await e.call('GET', '/metrics', bad)).status).toBe(401);
        expect((await e.call('POST', '/inbound/adt-in', { ...bad, body: {} })).status).toBe(401);
        const fhir = await e.call('GET', '/fhir/Patient', bad);
        expect(fhir.status).toBe(401);
        expect(fhir.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
        expect(fhir.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: expect.any(String) }] });
      }
      for (const [method, path] of [
        ['GET', '/api/me'],
        ['GET', '/metrics'],
        ['POST', '/inbound/adt-in'],
      ]) {
        expect({ path, status: (await e.call(method, path, { ...bad, body: method === 'POST' ? {} : undefined })).status }).toEqual({ path, status: 429 });
      }
      const fhir = await e.call('GET', '/fhir/Patient', bad);
      expect(fhir.status).toBe(429);
      expect(fhir.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'throttled', diagnostics: expect.stringMatching(/too many failed authentication attempts/) }] });
      // Another address is not affected.
      expect((await e.call('GET', '/fhir/Patient', { ...bad, headers: from('203.0.113.41') })).status).toBe(401);
    } finally {
      await e.close();
    }
  });
});
