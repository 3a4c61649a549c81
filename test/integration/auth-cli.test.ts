// `tramline tokens create|list|revoke|dev-jwt` against a live engine: a created token works at
// once with its role, is listed without its secret, stored only as a hash, and stops working
// when revoked; a dev JWT is accepted when the dev issuer is trusted.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import { hashToken } from '../../server/auth/tokens.js';
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
