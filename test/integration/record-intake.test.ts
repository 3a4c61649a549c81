// Record intake over the real store and embedded queue: bad rows reported by row, field and
// reason while good rows go through; excluded rows never leave; an unchanged re-send is not
// sent again; a record sealed after it was sent is retracted.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileDropSource } from '../../adapters/file-drop/source.js';
import type { ChannelDefinition } from '../../channels/definition.js';
import { EmbeddedQueue } from '../../adapters/queue/embedded.js';
import type { Envelope } from '../../core/queue.js';
import { recordFormatFor } from '../../channels/record-formats.js';
import { RecordIntake } from '../../channels/record-intake.js';
import { openStore, type OpenedStore } from '../../server/open-store.js';
import { eventually } from '../support/engine.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-records-'));
const schemaFile = path.join(dir, 'person.schema.json');
writeFileSync(
  schemaFile,
  JSON.stringify({
    type: 'object',
    required: ['person_id', 'event_ref', 'start'],
    properties: {
      person_id: { type: 'string' },
      event_ref: { type: 'string' },
      start: { type: 'string', format: 'date' },
      hours: { type: 'number', minimum: 0 },
      restricted: { enum: ['adoption', 'sealed-safeguarding'] },
    },
  }),
);

const channel = {
  id: 'records',
  enabled: true,
  file: 'x.yaml',
  source: { type: 'http', maxRecords: 100 },
  pipeline: {
    recordSchema: schemaFile,
    groupBy: 'person_id',
    retract: 'entered-in-error',
    exclude: [{ name: 'sealed', field: 'restricted', in: ['adoption', 'sealed-safeguarding'] }],
  },
  destinations: [],
} as unknown as ChannelDefinition;

/** A toy "mapping": one conditional entry per event, one for the person. */
const toyBundle = (input: unknown) => {
  const { key, records } = input as { key: string; records: { event_ref: string; hours?: number }[] };
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { request: { method: 'PUT', url: `Patient?identifier=urn:test|${key}` } },
      ...records.map((r) => ({ request: { method: 'PUT', url: `EpisodeOfCare?identifier=urn:test|${r.event_ref}` }, hours: r.hours })),
    ],
  };
};

describe('record intake', () => {
  let opened: OpenedStore;
  let queue: EmbeddedQueue;
  let intake: RecordIntake;
  const delivered: Envelope[] = [];

  beforeAll(async () => {
    opened = await openStore({ dbUrl: `sqlite:${path.join(dir, 's.db')}`, dataDir: dir });
    queue = new EmbeddedQueue(opened.db, { keys: opened.keys, pollIntervalMs: 20 });
    await queue.start([{ destination: 'records.out', bindings: ['records.#'], concurrency: 1 }]);
    await queue.consume('records.out', async (d) => {
      delivered.push(d.envelope);
      return { kind: 'done' };
    });
    intake = new RecordIntake({ channel, store: opened.store, queue, format: recordFormatFor(channel), map: (input) => ({ output: toyBundle(input) }) });
  });

  afterAll(async () => {
    await queue.close();
    await opened.store.close();
    await opened.db.close();
  });

  test('bad rows are reported by row, field and reason; the good rows go through', async () => {
    const report = await intake.ingest(
      [
        { person_id: 'P1', event_ref: 'E1', start: '2026-01-05', hours: '12' },
        { person_id: 'P1', event_ref: 'E2', start: 'not a date' },
        { person_id: 'P2', start: '2026-02-01' },
        { person_id: 'P2', event_ref: 'E3', start: '2026-02-01', hours: '-1' },
        { person_id: 'P3', event_ref: 'E4', start: '2026-03-01', restricted: 'adoption' },
        'not a record',
      ],
      { source: 'batch-1', firstRow: 2 },
    );
    expect(report).toMatchObject({ rows: 6, accepted: 1, queued: 1, unchanged: 0, excluded: { sealed: 1 }, failed: [], retracted: 0 });
    expect(report.rejected).toEqual([
      { row: 3, field: 'start', reason: 'must match format "date"' },
      { row: 4, field: 'event_ref', reason: 'is required' },
      { row: 5, field: 'hours', reason: 'must be >= 0' },
      { row: 7, field: '(record)', reason: 'must be an object' },
    ]);
    await eventually(async () => delivered.length === 1);
    const bundle = JSON.parse(delivered[0].body);
    expect(bundle.entry.map((e: { request: { url: string } }) => e.request.url)).toEqual(['Patient?identifier=urn:test|P1', 'EpisodeOfCare?identifier=urn:test|E1']);
    expect(bundle.entry[1].hours).toBe(12); // CSV text coerced to the schema's number
    expect(delivered[0]).toMatchObject({ channel: 'records', routingKey: 'records.record.bundle', partitionKey: opened.store.partitionKeyOf('group:P1'), headers: { kind: 'bundle' } });
    expect(delivered[0].partitionKey).not.toContain('P1'); // the person's key is hashed on the queue
  });

  test('the same records again are recognised as unchanged and not sent', async () => {
    const report = await intake.ingest([{ person_id: 'P1', event_ref: 'E1', start: '2026-01-05', hours: '12' }], { source: 'batch-2' });
    expect(report).toMatchObject({ accepted: 1, queued: 0, unchanged: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(delivered).toHaveLength(1);
  });

  test('a record sealed after it was sent is retracted; the rest is re-sent', async () => {
    await intake.ingest([{ person_id: 'P1', event_ref: 'E5', start: '2026-04-01' }, { person_id: 'P1', event_ref: 'E1', start: '2026-01-05', hours: '12' }], { source: 'batch-3' });
    await eventually(async () => delivered.length === 2);
    const report = await intake.ingest(
      [
        { person_id: 'P1', event_ref: 'E1', start: '2026-01-05', hours: '12' },
        { person_id: 'P1', event_ref: 'E5', start: '2026-04-01', restricted: 'sealed-safeguarding' },
      ],
      { source: 'batch-4' },
    );
    expect(report).toMatchObject({ queued: 1, retracted: 1, excluded: { sealed: 1 } });
    await eventually(async () => delivered.length === 4);
    const retraction = delivered.find((d) => d.headers.kind === 'retraction')!;
    expect(JSON.parse(retraction.body)).toEqual({ mode: 'entered-in-error', references: ['EpisodeOfCare?identifier=urn:test|E5'] });
    // Order within the person: the re-sent bundle, then the retraction (same partition).
    expect(delivered.slice(2).map((d) => d.headers.kind)).toEqual(['bundle', 'retraction']);

    // The same file again: nothing new to send, nothing new to retract.
    const again = await intake.ingest(
      [
        { person_id: 'P1', event_ref: 'E1', start: '2026-01-05', hours: '12' },
        { person_id: 'P1', event_ref: 'E5', start: '2026-04-01', restricted: 'sealed-safeguarding' },
      ],
      { source: 'batch-5' },
    );
    expect(again).toMatchObject({ queued: 0, unchanged: 1, retracted: 0 });
  });

  test('a person sealed entirely has everything sent before retracted, Patient last', async () => {
    await intake.ingest([{ person_id: 'P9', event_ref: 'E9', start: '2026-05-01' }], { source: 'batch-6' });
    const report = await intake.ingest([{ person_id: 'P9', event_ref: 'E9', start: '2026-05-01', restricted: 'adoption' }], { source: 'batch-7' });
    expect(report).toMatchObject({ queued: 0, retracted: 1 });
    const retraction = await eventually(async () => delivered.find((d) => d.headers.kind === 'retraction' && d.body.includes('P9')));
    expect(JSON.parse(retraction.body).references).toEqual(['EpisodeOfCare?identifier=urn:test|E9', 'Patient?identifier=urn:test|P9']);
  });

  test('file drop: a CSV renamed into the folder is ingested and moved with its report', async () => {
    const drop = path.join(dir, 'drop');
    mkdirSync(drop);
    const source = new FileDropSource({ directory: drop, formats: ['csv', 'jsonl'], pollIntervalMs: 50, stableMs: 0, csvDelimiter: ',' }, intake, 'records');
    source.start();
    try {
      const csv = 'person_id,event_ref,start,hours\nF1,FE1,2026-06-01,3\nF2,FE2,2026-13-01,\nF3,FE3\nF4,FE4,2026-06-02,\n';
      writeFileSync(path.join(drop, '.incoming.tmp'), csv);
      renameSync(path.join(drop, '.incoming.tmp'), path.join(drop, 'extract.csv'));
      const reportFile = await eventually(async () => readdirSync(path.join(drop, 'processed')).find((f) => f.endsWith('.report.json')));
      const report = JSON.parse(readFileSync(path.join(drop, 'processed', reportFile), 'utf8'));
      expect(report).toMatchObject({ file: 'extract.csv', outcome: 'processed', rows: 4, accepted: 2, queued: 2 });
      expect(report.rejected).toEqual([
        { row: 3, field: 'start', reason: 'must match format "date"' },
        { row: 4, field: '(row)', reason: 'has 2 fields; the header has 4' },
      ]);
      expect(readdirSync(drop).filter((f) => f.endsWith('.csv'))).toEqual([]);

      // A file with no usable row goes to failed/.
      writeFileSync(path.join(drop, 'bad.jsonl'), '{"person_id":"X"}\nnot json\n');
      const failed = await eventually(async () => readdirSync(path.join(drop, 'failed')).find((f) => f.endsWith('bad.jsonl.report.json')));
      const failedReport = JSON.parse(readFileSync(path.join(drop, 'failed', failed), 'utf8'));
      expect(failedReport.rejected).toEqual([
        { row: 1, field: 'event_ref', reason: 'is required' },
        { row: 1, field: 'start', reason: 'is required' },
        { row: 2, field: '(line)', reason: 'is not a JSON object' },
      ]);
    } finally {
      await source.close();
    }
  });

  test('progress counts each finished person once, up to the total', async () => {
    const seen: [number, number][] = [];
    const counting = new RecordIntake({ channel, store: opened.store, queue, format: recordFormatFor(channel), map: (input) => ({ output: toyBundle(input) }), onProgress: (done, total) => seen.push([done, total]) });
    const people = Array.from({ length: 70 }, (_, i) => ({ person_id: `PR${i}`, event_ref: `PRE${i}`, start: '2026-04-01' }));
    await counting.ingest(people, { source: 'progress', firstRow: 2 });
    expect(seen).toEqual(people.map((_, i) => [i + 1, 70]));
  });
});
