// The case inbox on a SQLite file: a delivery resolves once its row is committed, redelivery adds
// no row, a message it cannot read fails alone, and the rows are there when the file is opened again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { CaseInboxDestination } from '../../adapters/case-inbox/destination.js';
import type { Envelope } from '../../core/queue.js';

const adt = (controlId: string, nhs: string): string =>
  [
    `MSH|^~\\&|PAS|RCB|CASE|LA|20261207120000||ADT^A01|${controlId}|P|2.4`,
    `PID|1||${nhs}^^^NHS^NH||DOE^JANE||19700101|F`,
  ].join('\r');

const envelope = (id: string, body: string): Envelope => ({ messageId: id, channel: 'c', routingKey: 'hl7v2.ADT.A01.RCB', partitionKey: 'p', body, headers: {} });

describe('case inbox on a SQLite file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-inbox-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('deliveries are committed before they resolve, once each, and are there after a reopen', async () => {
    const file = path.join(dir, 'inbox.db');
    const inbox = new CaseInboxDestination({ database: `sqlite:${file}`, table: 'case_inbox' });
    await inbox.open();
    const count = async () => (await sql<{ n: number }>`select count(*) as n from case_inbox`.execute(inbox.kysely)).rows[0].n;
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => inbox.deliver(envelope(`m${i}`, adt(`C${i}`, '9434765919')))));
      expect(await count()).toBe(20);
      // Redelivery (at-least-once) adds no row.
      await inbox.deliver(envelope('m3', adt('C3', '9434765919')));
      expect(await count()).toBe(20);
      // A message the inbox cannot read fails alone; its neighbours are written.
      const results = await Promise.allSettled([inbox.deliver(envelope('bad', 'not hl7')), inbox.deliver(envelope('m20', adt('C20', '9434765919')))]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
      expect(await count()).toBe(21);
      // Deliveries resolved just before the close are on disk after it.
      const last = Array.from({ length: 5 }, (_, i) => inbox.deliver(envelope(`n${i}`, adt(`N${i}`, '9434765919'))));
      await Promise.all(last);
      // One still lingering for company when the close starts is written, not failed.
      const lingering = inbox.deliver(envelope('late', adt('L1', '9434765919')));
      await inbox.close();
      await expect(lingering).resolves.toBeUndefined();
    } finally {
      await inbox.close();
    }
    const again = new CaseInboxDestination({ database: `sqlite:${file}`, table: 'case_inbox' });
    await again.open();
    try {
      const rows = (await sql<{ n: number }>`select count(*) as n from case_inbox`.execute(again.kysely)).rows[0].n;
      expect(rows).toBe(27);
      const row = (await sql<{ control_id: string; nhs_number: string }>`select control_id, nhs_number from case_inbox where id = 'm7'`.execute(again.kysely)).rows[0];
      expect(row).toEqual({ control_id: 'C7', nhs_number: '9434765919' });
    } finally {
      await again.close();
    }
  });
});
