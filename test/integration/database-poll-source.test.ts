// Database polling against a real PostgreSQL view: rows sharing a watermark value are neither
// skipped nor read twice, across batches and across a restart.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { DatabasePollSource, watermarkStore } from '../../adapters/database/poll-source.js';
import { openStore, type OpenedStore } from '../../server/open-store.js';
import { dropPg, PG_BASE, uniquePgUrl } from '../support/db.js';

const caseDbUrl = uniquePgUrl('casedb');
const schema = new URL(caseDbUrl).searchParams.get('schema')!;

describe('database polling source (PostgreSQL view)', () => {
  let client: pg.Client;
  let opened: OpenedStore;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: PG_BASE });
    await client.connect();
    await client.query(`create schema "${schema}"`);
    await client.query(`create table "${schema}".events (id integer primary key, person text not null, updated_at timestamptz not null, deleted boolean default false)`);
    await client.query(`create view "${schema}".v_events as select id, person, updated_at from "${schema}".events where not deleted`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-poll-'));
    opened = await openStore({ dbUrl: `sqlite:${path.join(dir, 's.db')}`, dataDir: dir });
  });

  afterAll(async () => {
    await client.end();
    await opened.store.close();
    await opened.db.close();
    await dropPg(caseDbUrl);
  });

  async function insert(ids: number[], at: string) {
    for (const id of ids) await client.query(`insert into "${schema}".events (id, person, updated_at) values ($1, $2, $3)`, [id, `P${id}`, at]);
  }

  test('reads each row once, with ties on the watermark split across batches and a restart', async () => {
    const seen: number[] = [];
    const config = { url: caseDbUrl, view: 'v_events', watermark: 'updated_at', key: 'id', pollIntervalMs: 60000, batchSize: 3 };
    const marks = watermarkStore(opened.db.kysely as never);
    const make = () => new DatabasePollSource('poll-test', config, marks, async (rows) => void seen.push(...rows.map((r) => Number(r.id))));

    // Five rows share one timestamp (µs precision) so a batch of 3 ends in the middle of a tie.
    await insert([1, 2, 3, 4, 5], '2026-11-26 10:00:00.123456+00');
    await insert([6], '2026-11-26 10:00:01+00');
    let source = make();
    await source.start();
    await source.poll();
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);

    // New rows, one with a watermark equal to the last one read; then restart the source.
    await insert([7], '2026-11-26 10:00:01+00');
    await insert([8, 9], '2026-11-26 10:05:00+00');
    await source.close();
    source = make();
    await source.start();
    await source.poll();
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

    // Nothing new: nothing read.
    await source.poll();
    expect(seen).toHaveLength(9);
    await source.close();
  });

  test('a failing handler does not move the watermark: the rows are read again', async () => {
    const marks = watermarkStore(opened.db.kysely as never);
    const config = { url: caseDbUrl, view: 'v_events', watermark: 'updated_at', key: 'id', pollIntervalMs: 60000, batchSize: 100 };
    let fail = true;
    const got: number[] = [];
    const source = new DatabasePollSource('poll-fail', config, marks, async (rows) => {
      if (fail) throw new Error('store unavailable');
      got.push(...rows.map((r) => Number(r.id)));
    });
    await source.start();
    await expect(source.poll()).rejects.toThrow('store unavailable');
    fail = false;
    await source.poll();
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await source.close();
  });
});
