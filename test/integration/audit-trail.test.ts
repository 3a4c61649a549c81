// The audit trail on SQLite and PostgreSQL: appends form one unbroken hash chain even when
// several writers (processes) append at once; editing, deleting or inserting a row in the
// database is detected and the first broken entry is named; FHIR AuditEvent export.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { GENESIS_HASH, hashRow } from '../../server/audit/chain.js';
import { auditHeadFile, HeadPublisher } from '../../server/audit/head.js';
import { AuditKey } from '../../server/audit/key.js';
import { toRow } from '../../server/audit/rows.js';
import { AuditTrail } from '../../server/audit/trail.js';
import { auditBundle } from '../../server/audit/fhir.js';
import type { AuditDatabase } from '../../server/audit/schema.js';
import type { Db } from '../../adapters/store/db.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { checkResourceSchema } from '../../mappings/validate/fhir-schema.js';
import { dropAppendOnlyGuards, recomputeChainFrom, truncateAfter } from '../support/audit-tamper.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

const NHS = '9434765919';
const CHILD = fileURLToPath(new URL('./audit-append-child.ts', import.meta.url));
const KEY_HEX = crypto.randomBytes(32).toString('hex');
const key = new AuditKey(Buffer.from(KEY_HEX, 'hex'));

function runChild(url: string, count: number, label: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, url, String(count), label, KEY_HEX], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

/**
 * The rejection's message. (Not `.rejects.toThrow`: when another test file in the same Jest
 * worker loaded better-sqlite3 first, its SqliteError comes from that file's realm and Jest
 * does not see it as an Error.)
 */
async function rejectionMessage(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { message?: unknown }).message ?? err);
  }
  return 'did not fail';
}

describe.each(BACKENDS)('audit trail (%s)', (name) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let trail: AuditTrail;

  beforeAll(async () => {
    backend = createBackend(name);
    db = await backend.openMigrated();
    trail = new AuditTrail(db, { key });
  });

  afterAll(async () => {
    await trail?.flush();
    await db?.close();
    await backend?.cleanup();
  });

  test('concurrent appends from three processes form one chain with no gaps', async () => {
    const children = ['a', 'b'].map((label) => runChild(backend.url, 60, label));
    const own = Promise.all(
      Array.from({ length: 30 }, (_, i) => trail.append({ category: 'message', action: 'message.received', outcome: 'success', messageId: `own-${i}`, target: 'adt-in' })),
    );
    const [codes] = await Promise.all([Promise.all(children), own]);
    expect(codes).toEqual([0, 0]);
    const all = await trail.query({ limit: 1000 });
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(new Set(all.map((r) => r.messageId)).size).toBe(150);
    const result = await trail.verify();
    expect(result).toMatchObject({ ok: true, checked: 150, head: { seq: 150 } });
  });

  test('two trails on one database keep one chain when they take turns (each chains onto what the other wrote)', async () => {
    const other = new AuditTrail(db, { key });
    const entry = (i: number) => ({ category: 'system' as const, action: 'turns', outcome: 'success' as const, detail: { i } });
    const before = (await trail.verify()).checked;
    for (let i = 0; i < 4; i++) {
      await trail.append(entry(2 * i));
      await other.append(entry(2 * i + 1));
    }
    // Entries nobody waits for wait for company, and are written by flush.
    const recorded = Promise.all([trail.record(entry(8)), trail.record(entry(9))]);
    await trail.flush();
    await recorded;
    const rows = await trail.query({ action: 'turns' });
    expect(rows.map((r) => r.detail?.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await trail.verify()).toMatchObject({ ok: true, checked: before + 10 });
  });

  test('entries round-trip and can be queried by patient and time', async () => {
    const before = new Date(Date.now() - 1);
    const view = await trail.append({
      category: 'view',
      action: 'viewer.read',
      outcome: 'success',
      actor: { id: 'dr.example', kind: 'jwt', role: 'clinician', organisation: 'RCB' },
      sourceIp: '10.0.0.7',
      patient: NHS,
      purpose: 'direct care',
      breakGlass: 'unconscious patient in ED',
      detail: { section: 'summary' },
    });
    expect(view.hash).toMatch(/^[0-9a-f]{64}$/);
    const found = await trail.query({ patient: NHS, from: before });
    expect(found).toHaveLength(1);
    expect(found[0]).toEqual(view);
    expect(await trail.query({ patient: NHS, to: before })).toEqual([]);
  });

  test('break-glass access is found on its own; pages go newest first before an entry', async () => {
    const glass = await trail.query({ breakGlass: true });
    expect(glass.map((r) => r.breakGlass)).toEqual(['unconscious patient in ED']);
    const turns = await trail.query({ action: 'turns' });
    const newest = await trail.query({ action: 'turns', newestFirst: true, limit: 3 });
    expect(newest.map((r) => r.seq)).toEqual(turns.slice(-3).reverse().map((r) => r.seq));
    const next = await trail.query({ action: 'turns', newestFirst: true, limit: 3, beforeSeq: newest[2].seq });
    expect(next.map((r) => r.seq)).toEqual(turns.slice(-6, -3).reverse().map((r) => r.seq));
  });

  test('the database refuses UPDATE and DELETE on the audit table', async () => {
    const k = db.kysely as unknown as Kysely<AuditDatabase>;
    const { seq } = await k.selectFrom('audit_log').select('seq').orderBy('seq').limit(1).executeTakeFirstOrThrow();
    expect(await rejectionMessage(k.updateTable('audit_log').set({ outcome: 'failure' }).where('seq', '=', seq).execute())).toMatch(/append-only/);
    expect(await rejectionMessage(k.deleteFrom('audit_log').where('seq', '=', seq).execute())).toMatch(/append-only/);
    expect(await rejectionMessage(k.deleteFrom('audit_log').execute())).toMatch(/append-only/);
    expect(await trail.verify()).toMatchObject({ ok: true });
  });

  test('FHIR export: a Bundle of valid R4 AuditEvents naming the patient, user, purpose and break-glass', async () => {
    const bundle = auditBundle(await trail.query({ patient: NHS }));
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    const event = bundle.entry![0].resource!;
    expect(checkResourceSchema(event, 'AuditEvent')).toEqual([]);
    expect(event.entity).toEqual(expect.arrayContaining([expect.objectContaining({ what: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS } } })]));
    expect(event.agent[0]).toMatchObject({ who: { identifier: { value: 'dr.example' } }, role: [{ text: 'clinician' }], network: { address: '10.0.0.7' } });
    expect(event.agent[1]).toMatchObject({ who: { identifier: { value: 'RCB' } } });
    expect(event.purposeOfEvent).toEqual(expect.arrayContaining([expect.objectContaining({ coding: [expect.objectContaining({ code: 'BTG' })], text: 'unconscious patient in ED' })]));
    expect(event.outcome).toBe('0');
  });

  test('editing one row is detected and that entry is named', async () => {
    await dropAppendOnlyGuards(db);
    const k = db.kysely as unknown as Kysely<AuditDatabase>;
    await k.updateTable('audit_log').set({ message_id: 'someone-else' }).where('seq', '=', 40).execute();
    expect(await trail.verify()).toMatchObject({ ok: false, checked: 39, broken: { seq: 40, reason: expect.stringMatching(/edited/) } });
    // Re-hashing the edited row does not help: the next entry's link no longer fits.
    const row = await k.selectFrom('audit_log').selectAll().where('seq', '=', 40).executeTakeFirstOrThrow();
    const { hash: _old, mac: _mac, ...rest } = row;
    await k.updateTable('audit_log').set({ hash: hashRow(rest) }).where('seq', '=', 40).execute();
    // Its MAC was made over the old hash, and nobody without the audit key can make a new one.
    expect(await trail.verify()).toMatchObject({ ok: false, broken: { seq: 40, reason: expect.stringMatching(/MAC does not match/) } });
  });

  test('deleting a row is detected', async () => {
    const k = db.kysely as unknown as Kysely<AuditDatabase>;
    // Undo the edit test's damage by rebuilding from a fresh table is not possible (append-only);
    // instead check deletion on a later stretch of the chain.
    await k.deleteFrom('audit_log').where('seq', '=', 40).execute();
    expect(await trail.verify()).toMatchObject({ ok: false, checked: 39, broken: { seq: 41, reason: expect.stringMatching(/40\.\.40 are missing/) } });
  });
});

describe.each(BACKENDS)('audit trail anchored by the audit key and the published head (%s)', (name) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let dir: string;
  let headFile: string;
  let trail: AuditTrail;

  beforeEach(async () => {
    backend = createBackend(name);
    db = await backend.openMigrated();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-audit-head-'));
    headFile = auditHeadFile(dir);
    trail = new AuditTrail(db, { key, headFile });
    for (let i = 0; i < 20; i++) await trail.append({ category: 'api', action: 'GET /api/messages', outcome: 'success', actor: { id: `user-${i % 3}`, kind: 'token' } });
    await new HeadPublisher(trail, key, headFile).publish();
  });

  afterEach(async () => {
    await db?.close();
    await backend?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('untouched: verify passes and checks the published head', async () => {
    const published = JSON.parse(fs.readFileSync(headFile, 'utf8'));
    expect(published).toMatchObject({ seq: 20, keyedFrom: 1, signature: expect.stringMatching(new RegExp(`^${key.id}:[0-9a-f]{64}$`)) });
    expect((fs.statSync(headFile).mode & 0o777).toString(8)).toBe('600');
    await trail.append({ category: 'system', action: 'after-the-head', outcome: 'success' });
    expect(await trail.verify()).toEqual({ ok: true, checked: 21, head: { seq: 21, hash: expect.any(String) }, publishedHead: { seq: 20, publishedAt: published.publishedAt } });
  });

  test('cutting entries off the end fails verify by default', async () => {
    await dropAppendOnlyGuards(db);
    await truncateAfter(db, 17);
    expect(await trail.verify()).toMatchObject({ ok: false, checked: 17, broken: { seq: 20, reason: expect.stringMatching(/ends at entry 17, entries 18\.\.20 were cut off \(trail cut short\)/) } });
    // The engine does not publish the shorter trail over the head it published before.
    await new HeadPublisher(trail, key, headFile).publish();
    expect(JSON.parse(fs.readFileSync(headFile, 'utf8')).seq).toBe(20);
  });

  test('editing an entry and recomputing the chain without the key fails verify', async () => {
    await dropAppendOnlyGuards(db);
    await recomputeChainFrom(db, 8, (row) => ({ ...row, actor: 'someone-else' }));
    expect(await trail.verify({ publishedHead: false })).toMatchObject({ ok: false, checked: 7, broken: { seq: 8, reason: expect.stringMatching(/MAC does not match its hash \(entry edited and the chain recomputed without the audit key\)/) } });
  });

  test('removing the MACs while recomputing the chain fails too', async () => {
    await dropAppendOnlyGuards(db);
    await recomputeChainFrom(db, 8, (row) => ({ ...row, actor: 'someone-else', mac: null }));
    const k = db.kysely as unknown as Kysely<AuditDatabase>;
    await k.updateTable('audit_log').set({ mac: null }).where('seq', '>=', 8).execute();
    expect(await trail.verify()).toMatchObject({ ok: false, broken: { seq: 8, reason: expect.stringMatching(/no MAC although the entries before it have one/) } });
    // Every MAC gone and the whole chain recomputed: the published head no longer fits.
    await k.updateTable('audit_log').set({ mac: null }).execute();
    await recomputeChainFrom(db, 1, (row) => ({ ...row, actor: 'someone-else' }));
    expect(await trail.verify()).toMatchObject({ ok: false, broken: { seq: 20, reason: expect.stringMatching(/head published at .* has a different hash \(trail rewritten\)/) } });
  });

  test('a forged or replaced head file is reported, and a trail signed with another key fails', async () => {
    const published = JSON.parse(fs.readFileSync(headFile, 'utf8'));
    fs.writeFileSync(headFile, JSON.stringify({ ...published, seq: 3 }));
    expect(await trail.verify()).toMatchObject({ ok: false, broken: { reason: 'the published head does not match its signature (edited)' } });
    const otherKey = new AuditKey(crypto.randomBytes(32));
    expect(await new AuditTrail(db, { key: otherKey }).verify()).toMatchObject({ ok: false, broken: { seq: 1, reason: expect.stringMatching(/another audit key/) } });
  });

  test('entries written before the audit key existed are reported as unkeyed, not as tampered', async () => {
    // A trail from before the key: the same rows without MACs, then keyed entries after them.
    const legacy = createBackend(name);
    const legacyDb = await legacy.openMigrated();
    try {
      const k = legacyDb.kysely as unknown as Kysely<AuditDatabase>;
      let prev = GENESIS_HASH;
      for (let seq = 1; seq <= 5; seq++) {
        const row = toRow({ category: 'system', action: 'old', outcome: 'success' }, seq, prev, Date.now());
        prev = row.hash;
        await k.insertInto('audit_log').values(row).execute();
      }
      const upgraded = new AuditTrail(legacyDb, { key });
      await upgraded.append({ category: 'system', action: 'new', outcome: 'success' });
      expect(await upgraded.verify()).toMatchObject({ ok: true, checked: 6, unkeyed: { count: 5, first: 1, last: 5 } });
    } finally {
      await legacyDb.close();
      await legacy.cleanup();
    }
  });
});
