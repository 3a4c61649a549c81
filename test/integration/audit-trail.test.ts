// The audit trail on SQLite and PostgreSQL: appends form one unbroken hash chain even when
// several writers (processes) append at once; editing, deleting or inserting a row in the
// database is detected and the first broken entry is named; FHIR AuditEvent export.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { AuditTrail } from '../../server/audit/trail.js';
import { auditBundle } from '../../server/audit/fhir.js';
import type { AuditDatabase } from '../../server/audit/schema.js';
import type { Db } from '../../server/store/db.js';
import type { StoreDatabase } from '../../server/store/schema.js';
import { checkResourceSchema } from '../../mappings/validate/fhir-schema.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

const NHS = '9434765919';
const CHILD = fileURLToPath(new URL('./audit-append-child.ts', import.meta.url));

function runChild(url: string, count: number, label: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, url, String(count), label], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'inherit', 'inherit'] });
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

async function dropAppendOnlyGuards(db: Db<StoreDatabase>): Promise<void> {
  // What someone with database access could do; the chain must still catch them.
  if (db.dialect === 'postgres') {
    await sql`drop trigger audit_log_no_change on audit_log`.execute(db.kysely);
  } else {
    await sql`drop trigger audit_log_no_update`.execute(db.kysely);
    await sql`drop trigger audit_log_no_delete`.execute(db.kysely);
  }
}

describe.each(BACKENDS)('audit trail (%s)', (name) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let trail: AuditTrail;

  beforeAll(async () => {
    backend = createBackend(name);
    db = await backend.openMigrated();
    trail = new AuditTrail(db);
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
    const other = new AuditTrail(db);
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
    const { hashRow } = await import('../../server/audit/chain.js');
    const row = await k.selectFrom('audit_log').selectAll().where('seq', '=', 40).executeTakeFirstOrThrow();
    const { hash: _old, ...rest } = row;
    await k.updateTable('audit_log').set({ hash: hashRow(rest) }).where('seq', '=', 40).execute();
    expect(await trail.verify()).toMatchObject({ ok: false, broken: { seq: 41, reason: expect.stringMatching(/previous-hash/) } });
  });

  test('deleting a row is detected', async () => {
    const k = db.kysely as unknown as Kysely<AuditDatabase>;
    // Undo the edit test's damage by rebuilding from a fresh table is not possible (append-only);
    // instead check deletion on a later stretch of the chain.
    await k.deleteFrom('audit_log').where('seq', '=', 40).execute();
    expect(await trail.verify()).toMatchObject({ ok: false, checked: 39, broken: { seq: 41, reason: expect.stringMatching(/40\.\.40 are missing/) } });
  });
});
