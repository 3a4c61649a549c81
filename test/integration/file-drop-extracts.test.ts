// CLD extracts through the file-drop source, the real CLD format and mapping, the real store
// and embedded queue: a malformed row is one rejected row and the rest go on; text that is not
// UTF-8 is rejected (or decoded by the declared charset), never turned into U+FFFD; reports
// count rows the way the log does, list warnings, never repeat values, stay small for huge bad
// files and never collide on a re-drop; a big extract does not hold up the event loop.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readExtract } from '../../adapters/file-drop/read.js';
import { FileDropSource, type FileDropConfig } from '../../adapters/file-drop/source.js';
import type { ChannelDefinition } from '../../channels/definition.js';
import { EmbeddedQueue } from '../../adapters/queue/embedded.js';
import type { Envelope } from '../../core/queue.js';
import { recordFormatFor, recordMapperFor } from '../../channels/record-formats.js';
import { MAX_LISTED, RecordIntake } from '../../channels/record-intake.js';
import { openStore, type OpenedStore } from '../../server/open-store.js';
import { eventually, ROOT } from '../support/engine.js';

const SAMPLE = readFileSync(path.join(ROOT, 'channels/examples/extracts/cld-sample.csv'), 'utf8');
const [HEADER, ...ROWS] = SAMPLE.trimEnd().split('\n');
const COLUMNS = HEADER.split(',');
const col = (name: string) => COLUMNS.indexOf(name);

/** The sample with `value` written into `field` of the rows `pick` selects (by index among data rows). */
function sampleWith(field: string, value: string, pick: (row: string, i: number) => boolean): string {
  const rows = ROWS.map((line, i) => {
    if (!pick(line, i)) return line;
    const cells = line.split(',');
    cells[col(field)] = value;
    return cells.join(',');
  });
  return [HEADER, ...rows].join('\n') + '\n';
}

const channel = {
  id: 'cld',
  enabled: true,
  file: 'cld.yaml',
  source: { type: 'file' },
  pipeline: { recordFormat: 'cld', map: 'social-care-cld-to-fhir', exclude: [{ name: 'sensitive', field: 'Sensitivity' }], retract: 'entered-in-error' },
  destinations: [],
} as unknown as ChannelDefinition;

type Report = Record<string, unknown> & { rejected: { row: number; field: string; reason: string }[]; warnings: { rows: number[]; field: string; reason: string }[] };

describe('CLD extracts through the file-drop source', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-extracts-'));
  let opened: OpenedStore;
  let queue: EmbeddedQueue;
  let intake: RecordIntake;
  const delivered: Envelope[] = [];
  let folders = 0;

  beforeAll(async () => {
    opened = await openStore({ dbUrl: `sqlite:${path.join(dir, 's.db')}`, dataDir: dir });
    queue = new EmbeddedQueue(opened.db, { keys: opened.keys, pollIntervalMs: 20 });
    await queue.start([{ destination: 'cld.out', bindings: ['cld.#'], concurrency: 1 }]);
    await queue.consume('cld.out', async (d) => {
      delivered.push(d.envelope);
      return { kind: 'done' };
    });
    intake = new RecordIntake({ channel, store: opened.store, queue, format: recordFormatFor(channel), map: recordMapperFor(channel) });
  });

  afterAll(async () => {
    await queue.close();
    await opened.store.close();
    await opened.db.close();
  });

  /** A fresh drop folder with its own source; drop files in, read their reports. */
  function folder(options: Partial<FileDropConfig> = {}) {
    const drop = path.join(dir, `drop-${++folders}`);
    mkdirSync(drop);
    const source = new FileDropSource({ directory: drop, formats: ['csv', 'jsonl'], pollIntervalMs: 50, stableMs: 0, csvDelimiter: ',', ...options }, intake, 'cld');
    source.start();
    return {
      drop,
      close: () => source.close(),
      put(name: string, content: string | Buffer) {
        writeFileSync(path.join(drop, '.incoming.part'), content);
        renameSync(path.join(drop, '.incoming.part'), path.join(drop, name));
      },
      reports: (name: string) =>
        ['processed', 'failed'].flatMap((d) =>
          readdirSync(path.join(drop, d))
            .filter((f) => f.endsWith(`-${name}.report.json`))
            .sort()
            .map((f) => readFileSync(path.join(drop, d, f), 'utf8')),
        ),
      async report(name: string, count = 1, timeoutMs = 30000): Promise<{ text: string; report: Report }> {
        const texts = await eventually(async () => (this.reports(name).length >= count ? this.reports(name) : undefined), timeoutMs, `report for ${name}`);
        const text = texts[count - 1];
        return { text, report: JSON.parse(text) as Report };
      },
    };
  }

  test('a stray quote rejects its row only (row, field, reason, no value); the other rows go on', async () => {
    const f = folder();
    try {
      f.put('quote.csv', sampleWith('GP_Practice_Name', 'ZEBEDEE"QUUX', (_l, i) => i === 0));
      const { text, report } = await f.report('quote.csv');
      expect(report).toMatchObject({ outcome: 'processed', rows: ROWS.length, rejectedRows: 2 });
      expect(report.rejected).toContainEqual({ row: 2, field: 'GP_Practice_Name', reason: expect.stringMatching(/quote/) });
      // The sample's own bad row (11) is still reported; P1001's other rows went through.
      expect(report.rejected.map((r) => r.row)).toEqual([2, 11, 11]);
      expect(report.accepted).toBe(ROWS.length - 2 - 1); // 2 rejected, 1 excluded
      expect(text).not.toMatch(/ZEBEDEE|QUUX/);
    } finally {
      await f.close();
    }
  });

  const latin1 = () => Buffer.from(sampleWith('GP_Practice_Name', 'Zoë Brontë Practice', (l) => l.includes(',P1001,')), 'latin1');

  test('Latin-1 bytes in a UTF-8 source reject their rows, naming the charset problem; nothing is turned into U+FFFD', async () => {
    const f = folder();
    const before = delivered.length;
    try {
      f.put('latin1.csv', latin1());
      const { report } = await f.report('latin1.csv');
      const p1001Rows = ROWS.map((l, i) => (l.includes(',P1001,') ? i + 2 : 0)).filter(Boolean);
      expect(report.rejected.filter((r) => p1001Rows.includes(r.row))).toEqual(p1001Rows.map((row) => ({ row, field: 'GP_Practice_Name', reason: expect.stringMatching(/not valid UTF-8.*charset/) })));
      expect(report.rejectedRows).toBe(p1001Rows.length + 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(delivered.slice(before).map((d) => d.body).join('')).not.toContain('\uFFFD');
    } finally {
      await f.close();
    }
  });

  test('with charset: latin1 declared, the same file is decoded as Latin-1 and sent correctly', async () => {
    const f = folder({ charset: 'latin1' });
    try {
      f.put('latin1.csv', latin1());
      const { report } = await f.report('latin1.csv');
      expect(report.rejected.map((r) => r.row)).toEqual([11, 11]);
      const sent = await eventually(async () => delivered.find((d) => d.body.includes('Zoë Brontë Practice')), 15000, 'P1001 with the practice name');
      expect(sent.body).not.toContain('\uFFFD');
    } finally {
      await f.close();
    }
  });

  test('counts agree: a row with two reasons is one rejected row; the NHS number left out is a warning (no value)', async () => {
    const f = folder();
    try {
      f.put('sample.csv', SAMPLE);
      const { text, report } = await f.report('sample.csv');
      expect(report).toMatchObject({ rows: ROWS.length, rejectedRows: 1, excluded: { sensitive: 1 } });
      expect(report.rows).toBe((report.accepted as number) + (report.rejectedRows as number) + 1);
      expect(report.rejected).toEqual([
        { row: 11, field: 'Event_End_Date', reason: 'is required' },
        { row: 11, field: 'Event_Start_Date', reason: 'must be a real date written YYYY-MM-DD' },
      ]);
      // P1003 (row 10) has an NHS number failing Modulus 11: sent without it, and said so.
      expect(report.warnings).toContainEqual({ rows: [10], field: 'NHS_Number', reason: 'NHS number fails the Modulus 11 check: left out, the rest sent' });
      expect(text).not.toContain('9434765918');
    } finally {
      await f.close();
    }
  });

  test('a re-drop of the same name gets its own report; report names sort by time', async () => {
    const f = folder();
    try {
      f.put('again.csv', SAMPLE);
      await f.report('again.csv');
      f.put('again.csv', SAMPLE);
      const { report } = await f.report('again.csv', 2);
      expect(report).toMatchObject({ file: 'again.csv', unchanged: expect.any(Number) });
      const names = readdirSync(path.join(f.drop, 'processed')).filter((n) => n.endsWith('.report.json'));
      expect(names).toHaveLength(2);
      expect(new Set(names).size).toBe(2);
      expect(readdirSync(path.join(f.drop, 'processed')).filter((n) => n.endsWith('again.csv'))).toHaveLength(2);
    } finally {
      await f.close();
    }
  });

  test('a huge bad file keeps a small report: the first problems listed, the rest counted', async () => {
    const f = folder();
    try {
      const bad = MAX_LISTED + 500;
      f.put('bad.csv', `${HEADER}\n${'x,y\n'.repeat(bad)}`);
      const { text, report } = await f.report('bad.csv');
      expect(report).toMatchObject({ outcome: 'failed', rows: bad, rejectedRows: bad, notListed: { rejected: 500, warnings: 0 } });
      expect(report.rejected).toHaveLength(MAX_LISTED);
      expect(text.length).toBeLessThan(200 * MAX_LISTED);
    } finally {
      await f.close();
    }
  });

  /** A CLD extract of `count` people, each with P1001's rows. */
  function largeExtract(count: number): string[] {
    const people = ROWS.filter((l) => l.includes(',P1001,'));
    const lines: string[] = [HEADER];
    for (let p = 0; p < count; p++) for (const l of people) lines.push(l.replace(/,P1001,9434765919,/, `,L${p},,`).replace(/(SVC|REQ|ASM|REV)-1001-/g, `$1-L${p}-`));
    return lines;
  }

  test('good rows of a file are held compactly until sent: memory grows by about the file size, not several times it', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const bytes = Buffer.from(largeExtract(5000).join('\n') + '\n');
    gc();
    const before = process.memoryUsage().heapUsed;
    const batch = intake.begin('held.csv', { compact: true });
    for await (const chunk of readExtract(Readable.from([bytes]), { format: 'csv', charset: 'utf-8', csvDelimiter: ',' })) {
      for (const r of chunk) if ('record' in r) batch.add(r.record, r.row);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(batch.report.accepted).toBeGreaterThan(20000);
    // As objects the same rows took over four times the file's size.
    expect(grown).toBeLessThan(2 * bytes.length);
  });

  test('a large extract is read in chunks: the event loop is never held for long', async () => {
    const f = folder();
    // 20,000+ rows (~7 MB): 5,000 people of P1001's events each.
    const lines = largeExtract(5000);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    try {
      // Warm up first: the mapping's validators compile on first use (once per process).
      f.put('warm.csv', SAMPLE);
      await f.report('warm.csv');
      f.put('large.csv', lines.join('\n') + '\n');
      delay.enable();
      const started = performance.now();
      const { report } = await f.report('large.csv', 1, 170000);
      const tookMs = performance.now() - started;
      delay.disable();
      expect(report).toMatchObject({ rows: lines.length - 1, rejectedRows: 0 });
      // Reading and checking the whole file at once held the loop for most of the time the file
      // took; in chunks, the longest hold is a chunk's work, a small part of it. Judged against
      // the file's own time, not a fixed number, so a busy machine slows both alike.
      expect(delay.max / 1e6).toBeLessThan(tookMs / 4);
    } finally {
      await f.close();
    }
  }, 200000);
});
