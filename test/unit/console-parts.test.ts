// The web console's small parts: sessions (opaque ids, idle and absolute timeouts, rotation at
// sign-in, bounded memory), the CSRF check, safe return paths, settings, HL7 display, SSE framing.
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { allows, ROLES } from '../../server/auth/roles.js';
import { CONSOLE_PAGES } from '../../server/console/pages/table.js';
import { VIEWER_PAGES } from '../../server/viewer/pages/table.js';
import { cookieSettings, safeReturnTo } from '../../server/console/access.js';
import { withoutGdsTransport } from '../../server/console/assets.js';
import { sparkline } from '../../server/console/dashboard-data.js';
import { csrfTokenMatches } from '../../server/console/csrf.js';
import { hl7Segments, looksLikeHl7, prettyJson } from '../../server/console/hl7-display.js';
import { sseEvent } from '../../server/console/live.js';
import { parseSearch } from '../../server/console/pages/message-search.js';
import { SessionStore } from '../../server/console/sessions.js';
import { loadConsoleSettings, rolesFromClaim } from '../../server/console/settings.js';
import { loadAuthSettings } from '../../server/auth/settings.js';

describe('SessionStore', () => {
  const stores: SessionStore[] = [];
  const store = (o: { idleMs: number; absoluteMs: number; maxSessions?: number }) => {
    const s = new SessionStore(o);
    stores.push(s);
    return s;
  };
  afterEach(() => {
    jest.useRealTimers();
    stores.splice(0).forEach((s) => s.close());
  });

  test('ids and CSRF tokens are 32 random bytes, unrelated to each other', () => {
    const s = store({ idleMs: 60_000, absoluteMs: 3_600_000 });
    const a = s.create();
    const b = s.create();
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([a.id, a.csrfToken, b.id, b.csrfToken]).size).toBe(4);
  });

  test('idle timeout: a request refreshes it; past it the session is gone and reported expired once', () => {
    jest.useFakeTimers({ now: Date.parse('2026-12-07T09:00:00Z') });
    const s = store({ idleMs: 60_000, absoluteMs: 3_600_000 });
    const session = s.create();
    session.principal = { kind: 'session', id: 'dev.operator', roles: ['operator'] };
    jest.setSystemTime(Date.now() + 50_000);
    expect(s.lookup(session.id)).toEqual({ session });
    jest.setSystemTime(Date.now() + 50_000);
    expect(s.isLive(session.id)).toBe(true);
    // isLive does not refresh: live updates are not activity.
    jest.setSystemTime(Date.now() + 11_000);
    expect(s.isLive(session.id)).toBe(false);
    expect(s.lookup(session.id)).toEqual({ expired: session });
    expect(s.lookup(session.id)).toBeUndefined();
  });

  test('absolute timeout ends even a busy session', () => {
    jest.useFakeTimers({ now: Date.parse('2026-12-07T09:00:00Z') });
    const s = store({ idleMs: 60_000, absoluteMs: 120_000 });
    const session = s.create();
    session.principal = { kind: 'session', id: 'dev.operator', roles: ['operator'] };
    for (let i = 0; i < 4; i++) {
      jest.setSystemTime(Date.now() + 30_000);
      expect(s.lookup(session.id)).toEqual({ session });
    }
    jest.setSystemTime(Date.now() + 1_000);
    expect(s.lookup(session.id)).toEqual({ expired: session });
  });

  test('the sweep forgets an anonymous session at once, a signed-in one an idle period after it expired', () => {
    jest.useFakeTimers({ now: Date.parse('2026-12-07T09:00:00Z') });
    const s = store({ idleMs: 60_000, absoluteMs: 3_600_000 });
    const anonymous = s.create();
    const signedIn = s.create();
    signedIn.principal = { kind: 'session', id: 'dev.operator', roles: ['operator'] };
    // Sweeps run every idle period (at most every minute): at 60 s neither had expired yet.
    jest.advanceTimersByTime(121_000);
    expect(s.size).toBe(1);
    expect(s.lookup(anonymous.id)).toBeUndefined();
    jest.advanceTimersByTime(60_000);
    expect(s.size).toBe(0);
    expect(s.lookup(signedIn.id)).toBeUndefined();
  });

  test('rotate (at sign-in) gives a new id and CSRF token and forgets the old id', () => {
    const s = store({ idleMs: 60_000, absoluteMs: 3_600_000 });
    const before = s.create();
    before.principal = { kind: 'session', id: 'dev.engineer', roles: ['engineer'] };
    const after = s.rotate(before);
    expect(after.id).not.toBe(before.id);
    expect(after.csrfToken).not.toBe(before.csrfToken);
    expect(after.principal).toEqual(before.principal);
    expect(s.lookup(before.id)).toBeUndefined();
    expect(s.lookup(after.id)).toEqual({ session: after });
  });

  test('bounded: beyond maxSessions the least recently used goes', () => {
    const s = store({ idleMs: 60_000, absoluteMs: 3_600_000, maxSessions: 2 });
    const a = s.create();
    const b = s.create();
    s.lookup(a.id);
    const c = s.create();
    expect([s.isLive(a.id), s.isLive(b.id), s.isLive(c.id)]).toEqual([true, false, true]);
    expect(s.size).toBe(2);
  });
});

test('CSRF: only the session’s own token, in the `_csrf` field, passes', () => {
  const s = new SessionStore({ idleMs: 60_000, absoluteMs: 60_000 });
  const session = s.create();
  expect(csrfTokenMatches(session, { _csrf: session.csrfToken })).toBe(true);
  expect(csrfTokenMatches(session, { _csrf: s.create().csrfToken })).toBe(false);
  expect(csrfTokenMatches(session, { _csrf: session.csrfToken.slice(1) })).toBe(false);
  expect(csrfTokenMatches(session, { _csrf: [session.csrfToken] })).toBe(false);
  expect(csrfTokenMatches(session, {})).toBe(false);
  expect(csrfTokenMatches(undefined, { _csrf: session.csrfToken })).toBe(false);
  s.close();
});

test.each([
  ['/messages?status=sent', '/messages?status=sent'],
  ['/', '/'],
  ['//evil.example/x', '/'],
  ['/\\evil.example', '/'],
  ['https://evil.example/', '/'],
  ['javascript:alert(1)', '/'],
  ['/a b', '/'],
  [undefined, '/'],
])('return path after sign-in %p → %p', (value, expected) => {
  expect(safeReturnTo(value)).toBe(expected);
});

test('the cookie is __Host- and Secure behind https, plain on http', () => {
  expect(cookieSettings('https://tramline.example.org')).toEqual({ name: '__Host-tramline-session', secure: true });
  expect(cookieSettings('http://localhost:8080')).toEqual({ name: 'tramline-session', secure: false });
});

describe('settings', () => {
  const auth = loadAuthSettings({ TRAMLINE_JWT_ROLE_MAP: 'R8000=clinician', TRAMLINE_AUTH_DEV_ISSUER: 'true' }, '/tmp');

  test('OIDC: issuer and client id; roles claim and map default to the JWT ones', () => {
    const s = loadConsoleSettings({ TRAMLINE_OIDC_ISSUER: 'https://login.example.org/tenant/v2.0', TRAMLINE_OIDC_CLIENT_ID: 'tramline' }, auth, 'https://tramline.example.org');
    expect(s.oidc?.issuer.href).toBe('https://login.example.org/tenant/v2.0');
    expect(s.oidc?.rolesClaim).toBe('roles');
    expect(s.oidc?.roleMap.get('R8000')).toBe('clinician');
    expect(s.devSignIn).toBe(true);
    expect(s.idleMs).toBe(30 * 60_000);
  });

  test('bad settings stop the engine with a reason', () => {
    expect(() => loadConsoleSettings({ TRAMLINE_OIDC_ISSUER: 'https://login.example.org' }, auth, 'http://localhost')).toThrow('TRAMLINE_OIDC_CLIENT_ID');
    expect(() => loadConsoleSettings({ TRAMLINE_OIDC_ISSUER: 'not a url', TRAMLINE_OIDC_CLIENT_ID: 'x' }, auth, 'http://localhost')).toThrow('must be a URL');
    expect(() => loadConsoleSettings({ TRAMLINE_OIDC_ISSUER: 'https://i', TRAMLINE_OIDC_CLIENT_ID: 'x', TRAMLINE_OIDC_ROLE_MAP: 'a=superuser' }, auth, 'http://localhost')).toThrow('TRAMLINE_OIDC_ROLE_MAP');
    expect(() => loadConsoleSettings({ TRAMLINE_CONSOLE_IDLE_MINUTES: '0' }, auth, 'http://localhost')).toThrow('TRAMLINE_CONSOLE_IDLE_MINUTES');
  });

  test('role claim values: mapped codes and Tramline role names; the rest ignored', () => {
    const map = new Map([['Tramline.Engineers', 'engineer' as const]]);
    expect(rolesFromClaim(['Tramline.Engineers', 'operator', 'Everyone'], map)).toEqual(['engineer', 'operator']);
    expect(rolesFromClaim('operator auditor', map)).toEqual(['operator', 'auditor']);
    expect(rolesFromClaim(undefined, map)).toEqual([]);
  });
});

test('HL7 shown segment by segment with field names; JSON pretty-printed', () => {
  const text = 'MSH|^~\\&|PAS|RCB|||20260615093000||ADT^A01|C1|P|2.4\rPID|1||943^^^NHS^NH||SMITH^ANN';
  expect(looksLikeHl7(text)).toBe(true);
  const [msh, pid] = hl7Segments(text);
  expect(msh.fields.slice(0, 3)).toEqual([
    { position: 'MSH-1', name: 'Field separator', value: '|' },
    { position: 'MSH-2', name: 'Encoding characters', value: '^~\\&' },
    { position: 'MSH-3', name: 'Sending application', value: 'PAS' },
  ]);
  expect(msh.fields.find((f) => f.position === 'MSH-10')).toEqual({ position: 'MSH-10', name: 'Message control ID', value: 'C1' });
  expect(pid.fields.map((f) => [f.position, f.name])).toEqual([
    ['PID-1', 'Set ID'],
    ['PID-3', 'Patient identifier list'],
    ['PID-5', 'Patient name'],
  ]);
  expect(prettyJson('{"resourceType":"Bundle"}')).toBe('{\n  "resourceType": "Bundle"\n}');
  expect(prettyJson('MSH|')).toBeUndefined();
});

test('message search: criteria read leniently into a filter, mistakes named per field', () => {
  const ok = parseSearch({ channel: 'adt-in', status: 'sent', nhsNumber: '943 476 5919', from: '2026-12-07T09:00', after: '1796621049745.01a24ef7-1a16-772a-98f8-dd67de53b46c' }, ['adt-in']);
  expect(ok.errors).toEqual([]);
  expect(ok.patient).toBe('9434765919');
  expect(ok.filter).toEqual({
    channel: 'adt-in',
    status: 'sent',
    patientKey: 'nhs:9434765919',
    from: new Date('2026-12-07T09:00:00Z'),
    after: { receivedAt: new Date(1796621049745), id: '01a24ef7-1a16-772a-98f8-dd67de53b46c' },
    limit: 51,
  });
  // 9434765918: ten digits, wrong check digit.
  const bad = parseSearch({ channel: 'nope', status: 'lost', nhsNumber: '9434765918', from: 'yesterday', to: ['a', 'b'] }, ['adt-in']);
  expect(bad.errors.map((e) => e.field)).toEqual(['channel', 'status', 'nhsNumber', 'from']);
  expect(bad.patient).toBeUndefined();
  const backwards = parseSearch({ from: '2026-12-07T10:00', to: '2026-12-07T09:00' }, []);
  expect(backwards.errors).toEqual([{ field: 'to', text: 'The end must be after the start' }]);
});

test('an SSE event carries a multi-line fragment line by line', () => {
  expect(sseEvent('dashboard', '<p>\n  1\n</p>')).toBe('event: dashboard\ndata: <p>\ndata:   1\ndata: </p>\n\n');
});

test('the GDS Transport typeface (GOV.UK only) is taken out of the stylesheet', () => {
  const css = '@font-face{font-family:GDS Transport;src:url(/a.woff2)}.govuk-body{font-family:GDS Transport,arial,sans-serif}';
  expect(withoutGdsTransport(css)).toBe('.govuk-body{font-family:GDS Transport,arial,sans-serif}');
});

test('docs/security.md’s role × page table says what the console’s and the viewer’s page tables enforce', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/security.md', import.meta.url)), 'utf8');
  for (const p of [...Object.values(CONSOLE_PAGES), ...Object.values(VIEWER_PAGES)]) {
    const line = doc.split('\n').find((l) => l.startsWith(`| \`${p.method} ${p.path}\` |`));
    if (!line) throw new Error(`docs/security.md has no row for ${p.method} ${p.path}`);
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    expect(cells[1]).toBe(`\`${p.permission}\``);
    expect(cells.slice(2)).toEqual(ROLES.map((r) => (allows([r], p.permission) ? '✓' : '—')));
  }
});

test('the throughput sparkline: one point per bucket, the peak at the top, nothing at the bottom', () => {
  expect(sparkline([0, 2, 1], 100, 40)).toEqual({ points: '0,38 50,2 100,20', total: 3, max: 2, width: 100, height: 40 });
  expect(sparkline([0, 0], 10, 40).points).toBe('0,38 10,38');
});
