// The MESH client's folders on real disk with a real store and queue: the inbox source takes
// .dat + .ctl pairs only when both are there, refuses unknown workflows to failed/ with a reason,
// stores failed-transfer reports without routing them, and routes a re-delivered LocalId once;
// the outbox destination writes the .dat, then the .ctl, under names a retry reuses.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseControlFile, writeControlFile, type ControlFile } from '../../adapters/mesh-folder/control.js';
import { MeshFolderDestination } from '../../adapters/mesh-folder/destination.js';
import { MeshFolderSource } from '../../adapters/mesh-folder/source.js';
import { EmbeddedQueue } from '../../adapters/queue/embedded.js';
import type { ChannelDefinition } from '../../channels/definition.js';
import { MessageIntake } from '../../channels/message-intake.js';
import { envelopeForStored } from '../../channels/republish.js';
import type { Envelope } from '../../core/queue.js';
import { openStore, type OpenedStore } from '../../server/open-store.js';
import { eventually } from '../support/engine.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-mesh-'));
const inbox = path.join(dir, 'IN');
mkdirSync(inbox);

const channel = { id: 'adw', enabled: true, file: 'adw.yaml', source: { type: 'mesh-folder', inbox }, destinations: [] } as unknown as ChannelDefinition;

function control(overrides: Partial<ControlFile> = {}): string {
  return writeControlFile({ version: '1.0', addressType: 'ALL', messageType: 'Data', workflowId: 'ADW_NOTICE', fromDts: 'RX1MB001', toDts: 'X26OT123', localId: 'L1', dtsId: 'D1', ...overrides });
}

describe('mesh-folder source', () => {
  let opened: OpenedStore;
  let queue: EmbeddedQueue;
  let source: MeshFolderSource;
  const delivered: Envelope[] = [];

  beforeAll(async () => {
    opened = await openStore({ dbUrl: `sqlite:${path.join(dir, 's.db')}`, dataDir: dir });
    queue = new EmbeddedQueue(opened.db, { keys: opened.keys, pollIntervalMs: 20 });
    await queue.start([{ destination: 'adw.out', bindings: ['adw.mesh.#'], concurrency: 1 }]);
    await queue.consume('adw.out', async (d) => {
      delivered.push(d.envelope);
      return { kind: 'done' };
    });
    const intake = new MessageIntake({ channel, store: opened.store, queue });
    // No timer: each test polls by hand, so what a poll sees is known.
    source = new MeshFolderSource({ inbox, pollIntervalMs: 60_000, stableMs: 0, maxMessageBytes: 1000, workflowIds: ['ADW_NOTICE'] }, intake, 'adw');
    await source.start();
  });

  afterAll(async () => {
    await source.close();
    await queue.close();
    await opened.store.close();
    await opened.db.close();
  });

  test('a .ctl waits for its .dat; the pair is stored, routed with its control metadata and moved to processed/', async () => {
    writeFileSync(path.join(inbox, 'm1.ctl'), control());
    await source.poll();
    await source.poll();
    expect(existsSync(path.join(inbox, 'm1.ctl'))).toBe(true); // a data message without its .dat is not taken yet
    expect((await opened.store.list({ channel: 'adw' })).length).toBe(0);

    writeFileSync(path.join(inbox, 'm1.dat'), '{"resourceType":"Bundle"}');
    await source.poll();
    expect(readdirSync(path.join(inbox, 'processed')).sort()).toEqual(['m1.ctl', 'm1.dat']);
    expect(readdirSync(inbox).filter((n) => n.endsWith('.dat') || n.endsWith('.ctl'))).toEqual([]);
    const [stored] = await opened.store.list({ channel: 'adw' });
    expect(stored).toMatchObject({ sender: 'RX1MB001', controlId: 'L1', messageType: 'MESH^ADW_NOTICE' });
    expect((await opened.store.readContent(stored.id, 'raw'))?.toString()).toBe('{"resourceType":"Bundle"}');
    await eventually(async () => delivered.length === 1);
    expect(delivered[0]).toMatchObject({
      messageId: stored.id,
      routingKey: 'adw.mesh.ADW_NOTICE.RX1MB001',
      body: '{"resourceType":"Bundle"}',
      headers: { kind: 'mesh', meshFrom: 'RX1MB001', meshTo: 'X26OT123', meshWorkflowId: 'ADW_NOTICE', meshLocalId: 'L1', meshDtsId: 'D1' },
    });
    // Queued again from the store (backlog, reprocess): same route, body and reply mailbox.
    expect(await envelopeForStored(opened.store, channel, stored)).toMatchObject({
      messageId: stored.id,
      routingKey: 'adw.mesh.ADW_NOTICE.RX1MB001',
      body: '{"resourceType":"Bundle"}',
      headers: { kind: 'mesh', meshFrom: 'RX1MB001', meshWorkflowId: 'ADW_NOTICE', meshLocalId: 'L1' },
    });
  });

  test('a .dat without a .ctl is left alone', async () => {
    writeFileSync(path.join(inbox, 'lonely.dat'), 'x');
    await source.poll();
    expect(existsSync(path.join(inbox, 'lonely.dat'))).toBe(true);
  });

  test('a re-delivered LocalId from the same mailbox is stored once and routed once; both copies leave the inbox', async () => {
    const before = delivered.length;
    writeFileSync(path.join(inbox, 'm2.dat'), 'first');
    writeFileSync(path.join(inbox, 'm2.ctl'), control({ localId: 'L2', dtsId: 'D2' }));
    await source.poll();
    writeFileSync(path.join(inbox, 'm2-again.dat'), 'first');
    writeFileSync(path.join(inbox, 'm2-again.ctl'), control({ localId: 'L2', dtsId: 'D2' }));
    await source.poll();
    expect((await opened.store.list({ channel: 'adw', controlId: 'L2' })).length).toBe(1);
    expect(readdirSync(path.join(inbox, 'processed'))).toEqual(expect.arrayContaining(['m2.dat', 'm2.ctl', 'm2-again.dat', 'm2-again.ctl']));
    await eventually(async () => delivered.length === before + 1);
    await new Promise((r) => setTimeout(r, 300)); // a second delivery would show itself by now
    expect(delivered.filter((d) => d.headers.meshLocalId === 'L2')).toHaveLength(1);
  });

  test('an unknown workflow, a broken control file and an oversized payload go to failed/ with a reason', async () => {
    writeFileSync(path.join(inbox, 'wf.dat'), 'x');
    writeFileSync(path.join(inbox, 'wf.ctl'), control({ workflowId: 'SOMETHING_ELSE', localId: 'L3' }));
    writeFileSync(path.join(inbox, 'bad.dat'), 'x');
    writeFileSync(path.join(inbox, 'bad.ctl'), '<DTSControl><MessageType>Data');
    writeFileSync(path.join(inbox, 'big.dat'), 'x'.repeat(1001));
    writeFileSync(path.join(inbox, 'big.ctl'), control({ localId: 'L4' }));
    await source.poll();
    const failed = path.join(inbox, 'failed');
    expect(readdirSync(failed).sort()).toEqual(['bad.ctl', 'bad.dat', 'bad.error.txt', 'big.ctl', 'big.dat', 'big.error.txt', 'wf.ctl', 'wf.dat', 'wf.error.txt']);
    expect(readFileSync(path.join(failed, 'wf.error.txt'), 'utf8')).toMatch(/WorkflowId SOMETHING_ELSE is not one this channel accepts/);
    expect(readFileSync(path.join(failed, 'bad.error.txt'), 'utf8')).toMatch(/not well-formed XML/);
    expect(readFileSync(path.join(failed, 'big.error.txt'), 'utf8')).toMatch(/larger than maxMessageBytes/);
    expect((await opened.store.list({ channel: 'adw', controlId: 'L3' })).length).toBe(0);
  });

  test('a failed-transfer report is stored as errored with its status, not routed', async () => {
    const before = delivered.length;
    writeFileSync(
      path.join(inbox, 'r1.ctl'),
      writeControlFile({ version: '1.0', addressType: 'DTS', messageType: 'Report', workflowId: 'ADW_NOTICE', fromDts: 'X26OT123', toDts: 'RX1MB001', localId: 'OUT1', dtsId: 'D9', statusRecord: { event: 'SEND', status: 'ERROR', statusCode: '14', description: 'Message not collected by recipient' } }),
    );
    await source.poll();
    expect(readdirSync(path.join(inbox, 'processed'))).toContain('r1.ctl');
    const [report] = await opened.store.list({ channel: 'adw', messageType: 'MESH-REPORT' });
    expect(report).toMatchObject({ status: 'errored', error: 'MESH delivery report: SEND ERROR 14 (Message not collected by recipient)' });
    await new Promise((r) => setTimeout(r, 300));
    expect(delivered.length).toBe(before);
  });
});

describe('mesh-folder destination', () => {
  const outbox = path.join(dir, 'OUT');
  mkdirSync(outbox);
  const envelope: Envelope = { messageId: 'msg-123', channel: 'adw', routingKey: 'adw.mesh.ADW_NOTICE.RX1MB001', partitionKey: 'p', body: '{"reply":true}', headers: { meshFrom: 'RX1MB001' } };

  test('writes <id>.dat then <id>.ctl with the fields; a retry writes the same names', async () => {
    const dest = new MeshFolderDestination({ outbox, fromMailbox: 'X26OT123', replyToSender: true, workflowId: 'ADW_NOTICE_ACCEPT', subject: 'ADW reply' });
    await dest.open();
    await dest.deliver(envelope);
    // The .ctl is renamed in after the .dat: its inode change time is not earlier.
    const { statSync } = await import('node:fs');
    expect(statSync(path.join(outbox, 'msg-123.ctl')).ctimeMs).toBeGreaterThanOrEqual(statSync(path.join(outbox, 'msg-123.dat')).ctimeMs);
    await dest.deliver(envelope);
    expect(readdirSync(outbox).sort()).toEqual(['msg-123.ctl', 'msg-123.dat']);
    expect(readFileSync(path.join(outbox, 'msg-123.dat'), 'utf8')).toBe('{"reply":true}');
    expect(parseControlFile(readFileSync(path.join(outbox, 'msg-123.ctl')))).toEqual({
      version: '1.0',
      addressType: 'DTS',
      messageType: 'Data',
      workflowId: 'ADW_NOTICE_ACCEPT',
      fromDts: 'X26OT123',
      toDts: 'RX1MB001',
      subject: 'ADW reply',
      localId: 'msg-123',
      compress: false,
      encrypted: false,
    });
  });

  test('a fixed recipient mailbox; no mailbox to reply to is a permanent failure', async () => {
    const fixed = new MeshFolderDestination({ outbox, fromMailbox: 'X26OT123', toMailbox: 'RX2MB002', workflowId: 'W' });
    await fixed.deliver({ ...envelope, messageId: 'msg-124' });
    expect(parseControlFile(readFileSync(path.join(outbox, 'msg-124.ctl'))).toDts).toBe('RX2MB002');
    const reply = new MeshFolderDestination({ outbox, fromMailbox: 'X26OT123', replyToSender: true, workflowId: 'W' });
    await expect(reply.deliver({ ...envelope, messageId: 'msg-125', headers: {} })).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/no sending mailbox/) });
    expect(existsSync(path.join(outbox, 'msg-125.dat'))).toBe(false);
  });
});
