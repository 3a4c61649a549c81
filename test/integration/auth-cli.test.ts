// `tramline tokens create|list|revoke|dev-jwt` against a live engine: a created token works at
// once with its role, is listed without its secret, stored only as a hash, and stops working
// when revoked; a dev JWT is accepted when the dev issuer is trusted.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import { hashToken, TokenStore } from '../../server/auth/tokens.js';
import { runCli } from '../support/engine.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';

let e: ApiEngine;

beforeAll(async () => {
  e = await startApiEngine();
});

afterAll(async () => {
  await e?.close();
});

test('create, use, list, revoke', async () => {
  const created = await runCli(['tokens', 'create', '--name', 'prometheus', '--role', 'operator', '--org', 'BPL'], e.env, e.dir);
  expect(created.code).toBe(0);
  const token = created.stdout.trim();
  expect(token).toMatch(/^tl_[A-Za-z0-9_-]{43}$/);
  expect(created.stderr).toMatch(/cannot be shown again/);

  expect((await e.call('GET', '/metrics', { token })).status).toBe(200);
  expect((await e.call('GET', '/api/audit', { token })).status).toBe(403);

  const sqlite = new Database(e.config.dbUrl.slice('sqlite:'.length), { readonly: true });
  try {
    const rows = sqlite.prepare("select * from api_tokens where name = 'prometheus'").all() as Record<string, unknown>[];
    expect(rows).toEqual([expect.objectContaining({ token_hash: hashToken(token), roles: 'operator', organisation: 'BPL' })]);
    expect(JSON.stringify(rows)).not.toContain(token);
  } finally {
    sqlite.close();
  }

  const list = await runCli(['tokens', 'list', '--json'], e.env, e.dir);
  expect(JSON.parse(list.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'prometheus', roles: ['operator'] })]));
  expect(list.stdout).not.toContain(token);

  const revoked = await runCli(['tokens', 'revoke', 'prometheus'], e.env, e.dir);
  expect(revoked.stdout).toMatch(/1 token\(s\) revoked/);
  expect((await e.call('GET', '/metrics', { token })).status).toBe(401);

  const bad = await runCli(['tokens', 'create', '--name', 'x', '--role', 'superuser'], e.env, e.dir);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/must be one of admin, engineer, operator, clinician, auditor/);

  const entries = await e.running.instrumented.audit.query({ category: 'cli' });
  expect(entries.map((r) => `${r.action}:${r.outcome}`)).toEqual(expect.arrayContaining(['cli.tokens.create:success', 'cli.tokens.list:success', 'cli.tokens.revoke:success']));
  expect(entries.find((r) => r.action === 'cli.tokens.create')?.detail).toMatchObject({ name: 'prometheus', role: ['operator'] });
});

test('dev-jwt makes a JWT the engine accepts for that user and role', async () => {
  const res = await runCli(['tokens', 'dev-jwt', '--user', 'sam.clinician', '--role', 'clinician', '--org', 'RXL'], e.env, e.dir);
  expect(res.code).toBe(0);
  const jwt = res.stdout.trim();
  const me = await e.call('GET', '/api/me', { token: jwt });
  expect(me.body).toMatchObject({ kind: 'jwt', id: 'sam.clinician', roles: ['clinician'], organisation: 'RXL', permissions: ['viewer:read'] });
  expect((await e.call('GET', '/api/messages', { token: jwt })).status).toBe(403);
});

test('a token lifetime that is not 1 to 3650 whole days is refused, naming the option', async () => {
  for (const days of ['-5', '0', '1.5', '99999999']) {
    const res = await runCli(['tokens', 'create', '--name', `bad-expiry-${days}`, '--role', 'operator', '--expires-in-days', days], e.env, e.dir);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(`option '--expires-in-days <n>' argument '${days}' is invalid`);
    expect(res.stderr).toMatch(/whole number of days from 1 to 3650/);
  }
  expect((await new TokenStore(e.running.opened.db).list()).map((t) => t.name).filter((n) => n.startsWith('bad-expiry'))).toEqual([]);
  const ok = await runCli(['tokens', 'create', '--name', 'ninety', '--role', 'operator', '--expires-in-days', '90', '--json'], e.env, e.dir);
  expect(ok.code).toBe(0);
  const expires = new Date(JSON.parse(ok.stdout).expiresAt).getTime();
  expect(Math.abs(expires - (Date.now() + 90 * 86_400_000))).toBeLessThan(60_000);
});

test('POST /api/tokens: expiresInDays is honoured, and a bad or unknown expiry is a 400, never ignored', async () => {
  const post = (body: Record<string, unknown>) => e.call('POST', '/api/tokens', { token: e.tokens.admin, body: { roles: ['operator'], ...body } });
  for (const body of [
    { name: 'neg', expiresInDays: -5 },
    { name: 'zero', expiresInDays: 0 },
    { name: 'huge', expiresInDays: 100000 },
    { name: 'past', expiresAt: '2001-01-01T00:00:00Z' },
    { name: 'far', expiresAt: '9999-01-01T00:00:00Z' },
    { name: 'both', expiresInDays: 5, expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
    { name: 'typo', expiresInDay: 5 },
  ]) {
    const res = await post(body);
    expect({ name: body.name, status: res.status }).toEqual({ name: body.name, status: 400 });
    expect(res.body.error.detail).toMatch(/expir|unknown field/);
  }
  expect((await new TokenStore(e.running.opened.db).list()).map((t) => t.name)).not.toEqual(expect.arrayContaining(['neg']));
  const made = await post({ name: 'thirty', expiresInDays: 30 });
  expect(made.status).toBe(201);
  expect(Math.abs(new Date(made.body.expiresAt).getTime() - (Date.now() + 30 * 86_400_000))).toBeLessThan(60_000);
});
