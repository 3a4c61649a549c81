// Kill -9 of a real engine after a MESH message is stored but before its files leave the inbox:
// on restart the pair is taken again, recognised as already stored, moved to processed/, and
// nothing is lost or stored and delivered twice.
import { afterAll, describe, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseControlFile, writeControlFile } from '../../adapters/mesh-folder/control.js';
import { eventually, killAllEngines, prepareEngine, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';

afterAll(() => killAllEngines());

/** A mesh-folder source on `inbox` that looks often and takes a pair at once. */
const fastInbox = (inbox: string) => `source:\n  type: mesh-folder\n  inbox: ${inbox}\n  pollIntervalMs: 100\n  stableMs: 0`;

/**
 * With the pair `base` stored but its move failing (processed/ is a file), kill -9 the engine,
 * clear the way and start it again; resolves once the pair is in processed/, taken as a duplicate.
 */
async function killInTheWindowAndRestart(e: EngineEnv, engine: EngineProcess, inbox: string, base: string): Promise<EngineProcess> {
  const processed = path.join(inbox, 'processed');
  await eventually(async () => engine.output().includes('MESH message could not be handled'), 15000, 'a failed move');
  expect(readdirSync(inbox).sort()).toEqual([`${base}.ctl`, `${base}.dat`, 'failed', 'processed'].sort());
  await engine.kill9();
  rmSync(processed);
  const restarted = await startEngine(e);
  await eventually(async () => existsSync(path.join(processed, `${base}.ctl`)) && existsSync(path.join(processed, `${base}.dat`)), 30000, 'the pair in processed/');
  expect(restarted.output()).toContain('"duplicate":true');
  await new Promise((r) => setTimeout(r, 1000)); // a second delivery would show itself by now
  return restarted;
}

describe('mesh-folder source under kill -9', () => {
  test('stored but not yet moved: after a restart, one message, one reply pair in the outbox, files in processed/', async () => {
    const folders = mkdtempSync(path.join(os.tmpdir(), 'tramline-mesh-crash-'));
    const inbox = path.join(folders, 'IN');
    const outbox = path.join(folders, 'OUT');
    mkdirSync(inbox);
    mkdirSync(outbox);
    const e = await prepareEngine({
      channelYaml: () => `id: adw
${fastInbox(inbox)}
  workflowIds: [ADW_NOTICE]
destinations:
  - name: reply
    type: mesh-folder
    outbox: ${outbox}
    fromMailbox: X26OT123
    replyToSender: true
    workflowId: ADW_NOTICE_ACK
`,
    });
    let engine = await startEngine(e);

    // processed/ replaced by a plain file: every move fails (ENOTDIR) after the message is
    // stored, which holds the engine in the window between store and move for the kill.
    const processed = path.join(inbox, 'processed');
    rmSync(processed, { recursive: true });
    writeFileSync(processed, 'in the way');

    writeFileSync(path.join(inbox, 'n1.dat'), '{"resourceType":"Bundle","id":"n1"}');
    writeFileSync(path.join(inbox, 'n1.ctl'), writeControlFile({ version: '1.0', addressType: 'ALL', messageType: 'Data', workflowId: 'ADW_NOTICE', fromDts: 'RX1MB001', toDts: 'X26OT123', localId: 'N1', dtsId: 'DTS1' }));

    const db = () => new Database(path.join(e.dir, 'data', 'tramline.db'), { readonly: true, fileMustExist: true });
    const rows = () => {
      const conn = db();
      try {
        return conn.prepare("select id, control_id, sender from messages where channel = 'adw'").all() as { id: string; control_id: string; sender: string }[];
      } finally {
        conn.close();
      }
    };
    // Stored and delivered to the outbox, while the pair is still in the inbox.
    await eventually(async () => readdirSync(outbox).includes(`${rows()[0]?.id}.ctl`), 30000, 'the reply in the outbox');
    engine = await killInTheWindowAndRestart(e, engine, inbox, 'n1');
    try {
      const stored = rows();
      expect(stored).toEqual([{ id: expect.any(String), control_id: 'N1', sender: 'RX1MB001' }]);
      expect(readdirSync(outbox).sort()).toEqual([`${stored[0].id}.ctl`, `${stored[0].id}.dat`]);
      expect(parseControlFile(readFileSync(path.join(outbox, `${stored[0].id}.ctl`)))).toMatchObject({ toDts: 'RX1MB001', fromDts: 'X26OT123', localId: stored[0].id, workflowId: 'ADW_NOTICE_ACK' });
      const conn = db();
      const sent = conn.prepare("select count(*) as n from message_events where message_id = ? and event = 'sent'").get(stored[0].id) as { n: number };
      conn.close();
      // At least once: the kill may fall between writing the reply and recording it as sent, so
      // the restart may deliver again — into the same two file names (one pair, checked above).
      expect(sent.n).toBeGreaterThanOrEqual(1);
    } finally {
      expect(await engine.terminate()).toBe(0);
    }
  }, 120000);

  test('a notice channel: stored, recorded and routed but not yet moved; after a restart one message, one notice, one case-inbox row', async () => {
    const folders = mkdtempSync(path.join(os.tmpdir(), 'tramline-notice-crash-'));
    const inbox = path.join(folders, 'IN');
    mkdirSync(inbox);
    const caseDb = path.join(folders, 'case.db');
    const e = await prepareEngine({
      channelYaml: () => `id: adw
${fastInbox(inbox)}
notices:
  councilOds: Z99ZZ
destinations:
  - name: inbox
    type: case-inbox
    database: sqlite:${caseDb}
    routes: [adw.#]
`,
    });
    let engine = await startEngine(e);
    const processed = path.join(inbox, 'processed');
    rmSync(processed, { recursive: true });
    writeFileSync(processed, 'in the way');
    const notice = readFileSync(new URL('../fixtures/adw/assessment-notice.xml', import.meta.url));
    writeFileSync(path.join(inbox, 'a1.dat'), notice);
    writeFileSync(path.join(inbox, 'a1.ctl'), writeControlFile({ version: '1.0', addressType: 'DTS', messageType: 'Data', workflowId: 'ADW_NOTICE', fromDts: 'RZZ9AHUB01', toDts: 'X26OT123', localId: 'A1' }));
    const count = (file: string, query: string) => {
      if (!existsSync(file)) return 0;
      const conn = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return (conn.prepare(query).get() as { n: number }).n;
      } catch {
        return 0; // the table is not there yet
      } finally {
        conn.close();
      }
    };
    const store = path.join(e.dir, 'data', 'tramline.db');
    const id = 'a1000000-0000-4000-8000-000000000001';
    await eventually(async () => count(caseDb, `select count(*) as n from case_inbox where control_id = '${id}'`) === 1, 30000, 'the notice in the case inbox');
    engine = await killInTheWindowAndRestart(e, engine, inbox, 'a1');
    try {
      expect(count(store, `select count(*) as n from messages where channel = 'adw'`)).toBe(1);
      expect(count(store, `select count(*) as n from notices where id = '${id}' and state = 'awaiting'`)).toBe(1);
      expect(count(caseDb, `select count(*) as n from case_inbox where control_id = '${id}'`)).toBe(1);
    } finally {
      expect(await engine.terminate()).toBe(0);
    }
  }, 120000);
});
