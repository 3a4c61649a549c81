// Retention: content older than the channel's retention.contentDays goes (via the CLI and the
// engine's schedule); metadata, message history and the audit trail stay, and the chain holds.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { scheduleRetention } from '../../server/retention/prune.js';
import { eventually, runCli } from '../support/engine.js';
import { adt } from '../support/hl7.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';

const DAY = 86_400_000;
let e: ApiEngine;

async function receiveOld(controlId: string, ageDays: number): Promise<string> {
  // Through the engine's (observed) store, as intake would have stored it back then.
  const { id } = await e.running.instrumented.store.receive({
    channel: 'adt-in',
    receivedAt: new Date(Date.now() - ageDays * DAY),
    sender: 'RCB',
    controlId,
    messageType: 'ADT^A01',
    // Already queued back then: the backlog publisher must not pick it up now.
    status: 'queued',
    raw: adt({ controlId }),
  });
  await e.running.instrumented.store.saveContent(id, 'transformed', '{"resourceType":"Bundle"}');
  return id;
}

beforeAll(async () => {
  e = await startApiEngine({ contentDays: 30 });
});

afterAll(async () => {
  await e?.close();
});

describe('retention', () => {
  test('tramline messages prune removes old content only; metadata, history and audit stay', async () => {
    const old = await receiveOld('OLD0001', 40);
    // What a destination reported for it: its own stages, pruned with the rest.
    await e.running.opened.store.setDestinationStatus(old, 'adt-in.inbox', 'sent', { content: { sent: '{"resourceType":"Bundle"}', response: 'MSH|^~\\&|ACK' } });
    const recent = await receiveOld('NEW0001', 5);
    await e.running.instrumented.audit.flush();
    const auditBefore = await e.running.instrumented.audit.query({ messageId: old });
    expect(auditBefore.map((r) => r.action)).toEqual(['message.received', 'message.mapped']);

    const res = await runCli(['messages', 'prune'], e.env, e.dir);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/adt-in: 4 content row\(s\) older than/);

    const { store } = e.running.opened;
    expect(await store.readContent(old, 'raw')).toBeUndefined();
    expect(await store.readContent(old, 'transformed')).toBeUndefined();
    expect(await store.contentStages(old)).toEqual([]);
    expect((await store.readContent(recent, 'raw'))?.toString()).toContain('NEW0001');
    expect(await store.get(old)).toMatchObject({ id: old, controlId: 'OLD0001', messageType: 'ADT^A01' });
    expect((await store.events(old)).map((ev) => ev.event)).toContain('received');
    expect(await e.running.instrumented.audit.query({ messageId: old })).toEqual(auditBefore);

    const entries = await e.running.instrumented.audit.query({ action: 'retention.prune' });
    expect(entries).toEqual([expect.objectContaining({ category: 'cli', target: 'adt-in', detail: expect.objectContaining({ removed: 4, days: 30 }) })]);
    expect((await e.running.instrumented.audit.query({ action: 'cli.messages.prune' }))[0]).toMatchObject({ outcome: 'success', actor: { kind: 'cli' } });
    expect(await e.running.instrumented.audit.verify()).toMatchObject({ ok: true });
  });

  test('the API reports pruned content as no longer stored, and reprocess skips it', async () => {
    const old = await receiveOld('OLD0002', 45);
    await runCli(['messages', 'prune', '--channel', 'adt-in'], e.env, e.dir);
    const show = await e.call('GET', `/api/messages/${old}`, { token: e.tokens.operator });
    expect(show.body.stages).toEqual([]);
    const again = await e.call('POST', `/api/messages/${old}/reprocess`, { token: e.tokens.operator });
    expect(again.body).toEqual({ queued: [], skipped: [{ id: old, reason: 'content no longer stored (pruned)' }] });
  });

  test('the schedule prunes without being asked', async () => {
    const old = await receiveOld('OLD0003', 31);
    const schedule = scheduleRetention({ store: e.running.opened.store, channels: [{ id: 'adt-in', retention: { contentDays: 30 } }], audit: e.running.instrumented.audit, firstRunDelayMs: 10 });
    try {
      await eventually(async () => (await e.running.opened.store.readContent(old, 'raw')) === undefined, 10000, 'scheduled prune');
    } finally {
      await schedule.stop();
    }
    await e.running.instrumented.audit.flush();
    const entries = await e.running.instrumented.audit.query({ action: 'retention.prune', category: 'system' });
    expect(entries.at(-1)).toMatchObject({ actor: { id: 'tramline', kind: 'system' }, detail: expect.objectContaining({ removed: 2 }) });
  });

  test('--older-than-days overrides; a channel without retention is left alone', async () => {
    const res = await runCli(['messages', 'prune', '--channel', 'other', '--older-than-days', '1'], e.env, e.dir);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/other: 0 content row/);
    const missing = await runCli(['messages', 'prune', '--channel', 'other'], e.env, e.dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no channel other/);
  });
});
