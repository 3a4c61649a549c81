// Kill -9 of a real engine while it answers a notice (here by an auto-accept rule), at each point
// where a stop could lose or double an answer: after the notice is stored but before its rule
// runs; after the response is stored (held) but before the notice records it; after the notice
// records it but before it is queued. The engine kills itself at the named point
// (TRAMLINE_CRASH_AT, a test hook inert without it) and is started again without the hook: every
// time, exactly one response goes to the MESH outbox, it is the one the notice records, and the
// notice is accepted. On SQLite and PostgreSQL.
import { describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeControlFile } from '../../adapters/mesh-folder/control.js';
import { parseAdw } from '../../adapters/adw/parse.js';
import { openDatabase } from '../../adapters/store/db.js';
import { HELD_RESPONSE } from '../../channels/notice-service.js';
import { dropPg, uniquePgUrl } from '../support/db.js';
import { eventually, meshOutDestination, prepareEngine, startEngine } from '../support/engine.js';

const NOTICE_ID = 'a1000000-0000-4000-8000-000000000001';
const ACCEPT_EVENT = '975711000000108';

interface Row { id: string; status: string; error: string | null; message_type: string | null }
interface NoticeRow { state: string; response_message_id: string | null; answer_by: string | null }

async function query(dbUrl: string): Promise<{ out: Row[]; notice?: NoticeRow }> {
  const db = await openDatabase<Record<string, Record<string, unknown>>>(dbUrl);
  try {
    const k = db.kysely as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const out = (await k.selectFrom('messages').select(['id', 'status', 'error', 'message_type']).where('message_type', 'like', 'ADW-OUT^%').orderBy('id').execute()) as Row[];
    const notice = (await k.selectFrom('notices').select(['state', 'response_message_id', 'answer_by']).where('id', '=', NOTICE_ID).executeTakeFirst()) as NoticeRow | undefined;
    return { out, notice };
  } finally {
    await db.close();
  }
}

describe.each(['sqlite', 'postgres'] as const)('answering a notice under kill -9 (%s)', (backend) => {
  test.each(['notice-before-auto-accept', 'answer-before-claim', 'answer-after-claim'])('killed at %s: after a restart, one response sent, the one the notice records', async (point) => {
    const folders = mkdtempSync(path.join(os.tmpdir(), 'tramline-answer-crash-'));
    const inbox = path.join(folders, 'IN');
    const outbox = path.join(folders, 'OUT');
    mkdirSync(inbox);
    mkdirSync(outbox);
    const pgUrl = backend === 'postgres' ? uniquePgUrl('answer_crash') : undefined;
    const e = await prepareEngine({
      ...(pgUrl ? { dbUrl: pgUrl } : {}),
      extraEnv: { TRAMLINE_CRASH_AT: point },
      channelYaml: () => `id: adw
source:
  type: mesh-folder
  inbox: ${inbox}
  pollIntervalMs: 100
  stableMs: 0
notices:
  councilOds: Z99ZZ
  autoAccept:
    - name: all-assessments
      types: [assessment]
destinations:
${meshOutDestination(outbox)}`,
    });
    const dbUrl = pgUrl ?? `sqlite:${path.join(e.dir, 'data', 'tramline.db')}`;
    try {
      const engine = await startEngine(e);
      writeFileSync(path.join(inbox, 'a1.dat'), readFileSync(new URL('../fixtures/adw/assessment-notice.xml', import.meta.url)));
      writeFileSync(path.join(inbox, 'a1.ctl'), writeControlFile({ version: '1.0', addressType: 'DTS', messageType: 'Data', workflowId: 'ADW_NOTICE', fromDts: 'RZZ9AHUB01', toDts: 'X26OT123', localId: 'A1' }));
      expect(await engine.exited).toBe('SIGKILL');

      // What the kill left: the notice's file still in the inbox, nothing in the outbox.
      expect(existsSync(path.join(inbox, 'a1.dat'))).toBe(true);
      expect(readdirSync(outbox)).toEqual([]);
      const left = await query(dbUrl);
      if (point === 'notice-before-auto-accept') {
        expect(left.notice).toMatchObject({ state: 'awaiting', response_message_id: null });
        expect(left.out).toEqual([]);
      } else if (point === 'answer-before-claim') {
        expect(left.notice).toMatchObject({ state: 'awaiting', response_message_id: null });
        expect(left.out).toEqual([expect.objectContaining({ status: 'filtered', error: HELD_RESPONSE })]);
      } else {
        expect(left.notice).toMatchObject({ state: 'accepted', response_message_id: left.out[0]?.id, answer_by: 'rule all-assessments' });
        expect(left.out).toEqual([expect.objectContaining({ status: 'filtered', error: HELD_RESPONSE })]);
      }

      delete e.env.TRAMLINE_CRASH_AT;
      const restarted = await startEngine(e);
      try {
        const sent = await eventually(async () => {
          const files = readdirSync(outbox).filter((f) => f.endsWith('.dat'));
          return files.length ? files : undefined;
        }, 60000, 'a response in the outbox');
        await eventually(async () => existsSync(path.join(inbox, 'processed', 'a1.dat')), 30000, 'the notice in processed/');
        await new Promise((r) => setTimeout(r, 1500)); // a second response would show itself by now
        expect(readdirSync(outbox).filter((f) => f.endsWith('.dat'))).toEqual(sent);
        expect(sent).toHaveLength(1);

        const after = await query(dbUrl);
        expect(after.notice).toMatchObject({ state: 'accepted', answer_by: 'rule all-assessments' });
        expect(sent[0]).toBe(`${after.notice!.response_message_id}.dat`);
        const response = parseAdw(readFileSync(path.join(outbox, sent[0]))).bundle as any; // eslint-disable-line @typescript-eslint/no-explicit-any
        expect(response.entry[0].resource.event.code).toBe(ACCEPT_EVENT);
        expect(response.entry[0].resource.response).toEqual({ identifier: NOTICE_ID, code: 'ok' });
        // A response held when the process stopped but never recorded is kept and never sent (still
        // held: it is marked so once no decision under way could claim it).
        const others = after.out.filter((m) => m.id !== after.notice!.response_message_id);
        expect(others).toEqual(point === 'answer-before-claim' ? [expect.objectContaining({ status: 'filtered', error: HELD_RESPONSE })] : []);
      } finally {
        expect(await restarted.terminate()).toBe(0);
      }
    } finally {
      if (pgUrl) await dropPg(pgUrl);
    }
  }, 180000);
});
