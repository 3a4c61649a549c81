// `tramline audit verify|list|export` against a live engine's SQLite store, and the tamper
// test from the issue: edit one audit row in the database file and verify names it.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import { eventually, runCli } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';

let e: ApiEngine;

beforeAll(async () => {
  e = await startApiEngine();
  await e.mllp.send(adt({ controlId: 'CLI0001', nhsNumber: NHS_NUMBERS[0] }));
  await e.mllp.send(adt({ controlId: 'CLI0002', nhsNumber: NHS_NUMBERS[1] }));
  await eventually(async () => (await e.running.instrumented.audit.query({ action: 'message.delivered' })).length === 2);
  await e.running.instrumented.audit.append({ category: 'view', action: 'viewer.read', outcome: 'success', actor: { id: 'dr.cli', kind: 'jwt', role: 'clinician' }, patient: NHS_NUMBERS[0], purpose: 'direct care' });
});

afterAll(async () => {
  await e?.close();
});

test('verify passes on an untouched trail and reports the head', async () => {
  const res = await runCli(['audit', 'verify'], e.env, e.dir);
  expect(res.code).toBe(0);
  expect(res.stdout).toMatch(/^audit trail intact: \d+ entries, every MAC checks out\n/);
  expect(res.stdout).toMatch(/published head entry \d+ \(.*\) is there unchanged/);
  expect(res.stdout).toMatch(/head entry \d+ hash [0-9a-f]{64} \(note it: --head \d+:[0-9a-f]{64}\)/);
});

test('list and export filter by patient', async () => {
  const list = await runCli(['audit', 'list', '--patient', NHS_NUMBERS[0], '--json'], e.env, e.dir);
  expect(list.code).toBe(0);
  expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ action: 'viewer.read', patient: NHS_NUMBERS[0] })]);
  const exported = await runCli(['audit', 'export', '--patient', NHS_NUMBERS[0]], e.env, e.dir);
  expect(JSON.parse(exported.stdout)).toMatchObject({ resourceType: 'Bundle', total: 1, entry: [{ resource: { resourceType: 'AuditEvent', action: 'R' } }] });
});

let noted = '';

test('a noted head must still be there unchanged', async () => {
  const first = await runCli(['audit', 'verify'], e.env, e.dir);
  noted = /--head (\d+:[0-9a-f]{64})/.exec(first.stdout)![1];
  expect((await runCli(['audit', 'verify', '--head', noted], e.env, e.dir)).code).toBe(0);
  const [seq] = noted.split(':');
  const wrong = await runCli(['audit', 'verify', '--head', `${seq}:${'0'.repeat(64)}`], e.env, e.dir);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain(`BROKEN at entry ${seq}: the noted entry has a different hash`);
  const gone = await runCli(['audit', 'verify', '--head', `999999:${'0'.repeat(64)}`], e.env, e.dir);
  expect(gone.stderr).toMatch(/BROKEN at entry 999999: the noted entry \(entry 999999\) is gone: .* \(trail cut short\)/);
});

test('editing one row in the database file makes verify fail and name that entry', async () => {
  await e.running.instrumented.audit.flush();
  const file = e.config.dbUrl.slice('sqlite:'.length);
  const sqlite = new Database(file);
  let seq: number;
  try {
    // Someone with the file: drop the guard triggers, then hide who viewed the record.
    sqlite.exec('drop trigger audit_log_no_update; drop trigger audit_log_no_delete;');
    seq = (sqlite.prepare("select seq from audit_log where action = 'viewer.read'").get() as { seq: number }).seq;
    sqlite.prepare("update audit_log set actor = 'someone-else' where seq = ?").run(seq);
  } finally {
    sqlite.close();
  }
  const res = await runCli(['audit', 'verify'], e.env, e.dir);
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(`audit trail BROKEN at entry ${seq}: content does not match its hash (entry was edited)`);

  const api = await e.call('GET', '/api/audit/verify', { token: e.tokens.auditor });
  expect(api.body).toMatchObject({ ok: false, broken: { seq } });
});

test('deleting a row is detected too', async () => {
  const file = e.config.dbUrl.slice('sqlite:'.length);
  const sqlite = new Database(file);
  try {
    sqlite.prepare('delete from audit_log where seq = 2').run();
  } finally {
    sqlite.close();
  }
  const res = await runCli(['audit', 'verify'], e.env, e.dir);
  expect(res.code).toBe(1);
  expect(res.stderr).toContain('audit trail BROKEN at entry 3: entries 2..2 are missing (deleted)');
});
