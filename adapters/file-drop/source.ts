// File-drop source: the case system writes extracts into a folder; we pick each file up once
// it is complete (renamed in, or its size and mtime stable for `stableMs`), ingest it as one
// batch, and move it to processed/ or failed/ with a report (row, field, reason) beside it.
// A crash mid-file leaves the file where it was, so it is read again on restart (the intake
// recognises groups it already sent).
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FileSourceConfig } from '../../channels/definition.js';
import { reasonOf } from '../../channels/errors.js';
import { log } from '../../server/logger.js';
import { formatOf, readCsv, readJsonLines } from './read.js';

export interface FileBatchReport {
  rejected: { row: number; field: string; reason: string }[];
  accepted: number;
  failed: { rows: number[]; reason: string }[];
}

export type FileBatchHandler = (records: unknown[], origin: { source: string; rowNumbers: number[] }) => Promise<FileBatchReport>;

const IGNORED = /^\.|\.(tmp|part|partial|report\.json)$/i;

export class FileDropSource {
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;
  private readonly seen = new Map<string, { size: number; mtimeMs: number; since: number }>();
  private closed = false;

  constructor(
    private readonly config: Pick<FileSourceConfig, 'directory' | 'formats' | 'pollIntervalMs' | 'stableMs' | 'csvDelimiter'>,
    private readonly onBatch: FileBatchHandler,
    private readonly channel = '',
  ) {}

  start(): void {
    for (const sub of ['processed', 'failed']) mkdirSync(path.join(this.config.directory, sub), { recursive: true });
    this.timer = setInterval(() => void this.poll(), this.config.pollIntervalMs);
    void this.poll();
  }

  /** One scan of the folder; processes every complete file. Resolves when done. */
  poll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.busy ??= this.scan().finally(() => (this.busy = undefined));
    return this.busy;
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.config.directory);
    } catch (err) {
      log.warn({ channel: this.channel, reason: reasonOf(err) }, 'extract folder unreadable');
      return;
    }
    const now = Date.now();
    for (const name of names.sort()) {
      if (this.closed) return;
      const format = formatOf(name);
      if (IGNORED.test(name) || !format || !this.config.formats.includes(format)) continue;
      const full = path.join(this.config.directory, name);
      const st = statSync(full, { throwIfNoEntry: false });
      if (!st?.isFile()) continue;
      const prev = this.seen.get(name);
      if (!prev || prev.size !== st.size || prev.mtimeMs !== st.mtimeMs) {
        this.seen.set(name, { size: st.size, mtimeMs: st.mtimeMs, since: now });
        if (this.config.stableMs > 0) continue;
      } else if (now - prev.since < this.config.stableMs) continue;
      this.seen.delete(name);
      await this.processFile(name, format);
    }
  }

  private async processFile(name: string, format: 'csv' | 'jsonl'): Promise<void> {
    const full = path.join(this.config.directory, name);
    const started = Date.now();
    let outcome: 'processed' | 'failed' = 'failed';
    let report: Record<string, unknown>;
    try {
      const text = readFileSync(full, 'utf8');
      const rows = format === 'csv' ? readCsv(text, this.config.csvDelimiter) : readJsonLines(text);
      log.info({ channel: this.channel, file: name, rows: rows.records.length + rows.problems.length }, 'extract picked up');
      const batch = await this.onBatch(rows.records, { source: name, rowNumbers: rows.rowNumbers });
      const rejected = [...rows.problems, ...batch.rejected].sort((a, b) => a.row - b.row);
      report = { file: name, ...batch, rows: rows.records.length + rows.problems.length, rejected };
      outcome = batch.accepted > 0 || (rejected.length === 0 && batch.failed.length === 0) ? 'processed' : 'failed';
    } catch (err) {
      report = { file: name, error: reasonOf(err) };
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const target = path.join(this.config.directory, outcome, `${stamp}-${name}`);
    renameSync(full, target);
    writeFileSync(`${target}.report.json`, JSON.stringify({ ...report, outcome, durationMs: Date.now() - started }, null, 2) + '\n');
    log.info({ channel: this.channel, file: name, outcome, durationMs: Date.now() - started }, 'extract done');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.busy;
  }
}
