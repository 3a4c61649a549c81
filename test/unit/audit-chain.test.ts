// Canonical JSON and the hash chain checker, without a database.
import { describe, expect, test } from '@jest/globals';
import crypto from 'node:crypto';
import { canonicalJson, ChainChecker, GENESIS_HASH, hashRow } from '../../server/audit/chain.js';
import { AuditKey } from '../../server/audit/key.js';
import { toRecord, toRow } from '../../server/audit/rows.js';
import type { AuditLogTable } from '../../server/audit/schema.js';

function chain(n: number): AuditLogTable[] {
  const rows: AuditLogTable[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const row = toRow({ category: 'api', action: 'GET /api/channels', outcome: 'success', actor: { id: `u${i}`, kind: 'token', role: 'operator' } }, i, prev, 1_700_000_000_000 + i);
    rows.push(row);
    prev = row.hash;
  }
  return rows;
}

describe('canonical JSON', () => {
  test('sorts keys at every level, drops undefined, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: undefined, b: null } })).toBe('{"a":{"b":null,"d":[3,1]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
  test('rejects numbers JSON cannot carry', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/finite/);
  });
});

describe('hash chain', () => {
  test('a fresh chain checks out and reports its head', () => {
    const rows = chain(5);
    const checker = new ChainChecker();
    expect(rows.map((r) => checker.check(r))).toEqual([null, null, null, null, null]);
    expect(checker.head).toEqual({ seq: 5, hash: rows[4].hash });
  });

  test('every column is covered by the hash', () => {
    const [row] = chain(1);
    for (const column of Object.keys(row) as (keyof AuditLogTable)[]) {
      // The MAC is over the hash (so over every column), not part of it.
      if (column === 'hash' || column === 'mac') continue;
      const changed = { ...row, [column]: column === 'seq' || column === 'at' ? 99 : 'x' } as AuditLogTable;
      const { hash: _h, mac: _m, ...rest } = changed;
      expect(hashRow(rest)).not.toBe(row.hash);
    }
  });

  test('the hash is SHA-256 over the canonical JSON of the row (trails written before still verify)', () => {
    const row = toRow(
      { category: 'view', action: 'viewer.read', outcome: 'success', actor: { id: 'dr "quoted"', kind: 'jwt' }, patient: '9434765919', purpose: 'direct care\u2028', detail: { z: [1, 'é'], a: null } },
      7,
      GENESIS_HASH,
      1_700_000_000_123,
    );
    const { hash, mac: _mac, ...rest } = row;
    expect(hash).toBe(crypto.createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex'));
  });

  test('an edit, a deletion and a reordering are each named', () => {
    const edited = chain(4);
    edited[2] = { ...edited[2], actor: 'intruder' };
    let c = new ChainChecker();
    expect(edited.map((r) => c.check(r))[2]).toMatch(/edited/);

    const deleted = chain(4).filter((r) => r.seq !== 2);
    c = new ChainChecker();
    expect(c.check(deleted[0])).toBeNull();
    expect(c.check(deleted[1])).toMatch(/entries 2\.\.2 are missing/);

    const swapped = chain(3);
    c = new ChainChecker();
    expect(c.check(swapped[1])).toMatch(/missing/);
  });

  test('with the audit key: each MAC is checked, unkeyed entries are accepted only before the first keyed one', () => {
    const key = new AuditKey(crypto.randomBytes(32));
    const keyed = (rows: AuditLogTable[]): AuditLogTable[] => rows.map((r) => ({ ...r, mac: key.entryMac(r.hash) }));
    let c = new ChainChecker(undefined, key);
    expect(keyed(chain(3)).map((r) => c.check(r))).toEqual([null, null, null]);
    expect(c.unkeyed).toBeUndefined();

    // Rows 1-2 from before the key (no MAC), then keyed rows: fine, and reported.
    const upgraded = chain(4).map((r, i) => (i < 2 ? r : { ...r, mac: key.entryMac(r.hash) }));
    c = new ChainChecker(undefined, key);
    expect(upgraded.map((r) => c.check(r))).toEqual([null, null, null, null]);
    expect(c.unkeyed).toEqual({ count: 2, first: 1, last: 2 });

    // A MAC removed after keyed rows, a MAC over another hash, a MAC from another key.
    const stripped = keyed(chain(3));
    stripped[2] = { ...stripped[2], mac: null };
    c = new ChainChecker(undefined, key);
    expect(stripped.map((r) => c.check(r))[2]).toMatch(/no MAC although the entries before it have one/);
    const moved = keyed(chain(2));
    moved[1] = { ...moved[1], mac: moved[0].mac };
    c = new ChainChecker(undefined, key);
    expect(moved.map((r) => c.check(r))[1]).toMatch(/MAC does not match/);
    c = new ChainChecker(undefined, new AuditKey(crypto.randomBytes(32)));
    expect(c.check(keyed(chain(1))[0])).toMatch(/another audit key/);
  });

  test('rows round-trip to records without losing optional fields', () => {
    const row = toRow(
      { category: 'view', action: 'viewer.read', outcome: 'success', actor: { id: 'dr', kind: 'jwt', role: 'clinician', organisation: 'RCB' }, patient: '9434765919', purpose: 'direct care', detail: { b: 1, a: 2 } },
      1,
      GENESIS_HASH,
      5,
    );
    expect(row.detail).toBe('{"a":2,"b":1}');
    expect(toRecord(row)).toMatchObject({ seq: 1, at: new Date(5), actor: { id: 'dr', kind: 'jwt', role: 'clinician', organisation: 'RCB' }, patient: '9434765919', detail: { a: 2, b: 1 } });
    expect(toRecord(row)).not.toHaveProperty('sourceIp');
  });
});

describe('record views', () => {
  test('a view names user, role, organisation, patient, purpose and break-glass (flagged for review)', async () => {
    const { viewEntry } = await import('../../server/audit/views.js');
    const entry = viewEntry({
      principal: { kind: 'jwt', id: 'dr.jones', roles: ['clinician'], organisation: 'RXL' },
      patient: '9434765919',
      purpose: 'direct care',
      breakGlass: 'unconscious in ED, no relationship recorded',
      sourceIp: '10.0.0.9',
      section: 'summary',
    });
    expect(entry).toEqual({
      category: 'view',
      action: 'viewer.read',
      outcome: 'success',
      actor: { id: 'dr.jones', kind: 'jwt', role: 'clinician', organisation: 'RXL' },
      sourceIp: '10.0.0.9',
      patient: '9434765919',
      purpose: 'direct care',
      breakGlass: 'unconscious in ED, no relationship recorded',
      detail: { section: 'summary', reviewRequired: true },
    });
  });
});

describe('rows', () => {
  test('a NUL in any text column is written as \\0 (PostgreSQL refuses NUL in text), and the row still verifies', () => {
    const row = toRow({ category: 'view', action: 'GET /a\u0000b', outcome: 'failure', patient: 'Patient/x\u0000y', target: '/fhir/Patient/\u0000' }, 1, GENESIS_HASH, 1_700_000_000_000);
    expect([row.action, row.patient, row.target]).toEqual(['GET /a\\0b', 'Patient/x\\0y', '/fhir/Patient/\\0']);
    expect(Object.values(row).some((v) => typeof v === 'string' && v.includes('\u0000'))).toBe(false);
  });
});
