// The role → permission table matches the Roles table of docs/security.md: engineer (channels, mappings, reprocess),
// operator (view status, reprocess), clinician (viewer only), auditor (audit trail only).
import { describe, expect, test } from '@jest/globals';
import { allows, PERMISSIONS, ROLE_PERMISSIONS, ROLES } from '../../server/auth/roles.js';
import { loadAuthSettings } from '../../server/auth/settings.js';

describe('roles', () => {
  test('admin may do everything', () => {
    for (const p of PERMISSIONS) expect(allows(['admin'], p)).toBe(true);
  });

  test('clinician: the viewer only; auditor: the audit trail only', () => {
    expect(ROLE_PERMISSIONS.clinician).toEqual(['viewer:read']);
    expect(ROLE_PERMISSIONS.auditor).toEqual(['audit:read']);
  });

  test('operator views status and reprocesses, but cannot change channels, read content or discard', () => {
    for (const p of ['channels:read', 'messages:read', 'messages:reprocess', 'dead-letters:read', 'dead-letters:replay', 'metrics:read'] as const) expect(allows(['operator'], p)).toBe(true);
    for (const p of ['channels:manage', 'messages:content', 'dead-letters:discard', 'mappings:run', 'audit:read', 'viewer:read', 'tokens:manage'] as const) expect(allows(['operator'], p)).toBe(false);
  });

  test('engineer works on channels and mappings and reprocesses, but neither audits, views records nor manages tokens', () => {
    for (const p of ['channels:manage', 'mappings:run', 'messages:reprocess', 'messages:content', 'dead-letters:discard'] as const) expect(allows(['engineer'], p)).toBe(true);
    for (const p of ['audit:read', 'viewer:read', 'tokens:manage'] as const) expect(allows(['engineer'], p)).toBe(false);
  });

  test('several roles add up; no roles allow nothing', () => {
    expect(allows(['clinician', 'auditor'], 'audit:read')).toBe(true);
    expect(allows(['clinician', 'auditor'], 'viewer:read')).toBe(true);
    for (const p of PERMISSIONS) expect(allows([], p)).toBe(false);
  });

  test('every role grants only known permissions', () => {
    for (const r of ROLES) for (const p of ROLE_PERMISSIONS[r]) expect(PERMISSIONS).toContain(p);
  });
});

describe('auth settings', () => {
  test('defaults: no JWT issuer, audience tramline, dev issuer off', () => {
    const s = loadAuthSettings({}, '/tmp/x');
    expect(s).toMatchObject({ jwksUrl: undefined, audience: 'tramline', rolesClaim: 'roles', orgClaim: 'org', devIssuer: false, devKeyFile: '/tmp/x/dev-jwt-key.json', failureLimit: 30 });
  });

  test('role map turns provider role codes into Tramline roles and refuses unknown roles', () => {
    const s = loadAuthSettings({ TRAMLINE_JWT_ROLE_MAP: 'R8000=clinician, R0001=admin' }, '/tmp');
    expect([...s.roleMap]).toEqual([
      ['R8000', 'clinician'],
      ['R0001', 'admin'],
    ]);
    expect(() => loadAuthSettings({ TRAMLINE_JWT_ROLE_MAP: 'R1=root' }, '/tmp')).toThrow(/TRAMLINE_JWT_ROLE_MAP/);
    expect(() => loadAuthSettings({ TRAMLINE_AUTH_FAILURE_LIMIT: '0' }, '/tmp')).toThrow(/FAILURE_LIMIT/);
    expect(() => loadAuthSettings({ TRAMLINE_AUTH_DENIAL_AUDIT_SECONDS: '-1' }, '/tmp')).toThrow(/TRAMLINE_AUTH_DENIAL_AUDIT_SECONDS must be a positive whole number/);
    expect(loadAuthSettings({}, '/tmp').denialAuditWindowMs).toBe(60_000);
  });
});
