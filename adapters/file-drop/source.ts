// File-drop source: the case system writes extracts into a folder; we pick each file up once
// it is complete (renamed in, or its size and mtime stable for `stableMs`), read it as a
// stream into one batch, and move it to processed/ or failed/ with a report (row, field,
// reason) beside it. A crash mid-file leaves the file where it was, so it is read again on
// restart (the intake recognises groups it already sent).
//
// Whatever is in the folder, the engine keeps running: every error is caught and reported by
// file name and reason (never content). Only regular files of the folder's own are read —
// symbolic links, folders, devices and files with other hard links are refused unread — and a
// file that cannot be moved away is remembered (name + inode + size + mtime), reported once,
// and not read again until it changes.
import { closeSync, constants, createReadStream, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, writeFileSync, type ReadStream, type Stats } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { FileSourceConfig } from './spec.js';
import { log } from '../../core/logger.js';
import { freeArchivePath, REPORT_SUFFIX } from './names.js';
import { formatOf, NotAnExtract, readExtract, type ExtractCharset, type ExtractFormat } from './read.js';
import type { BatchReport } from '../../core/records.js';

/** Where rows go: one batch per file, fed a row at a time. */
export interface ExtractSink {
  begin(source: string, options: { compact: boolean }): {
    add(raw: unknown, rowNumber: number): void;
    reject(rowNumber: number, problems: { field: string; reason: string }[]): void;
    finish(): Promise<BatchReport>;
  };
}

export type FileDropConfig = Pick<FileSourceConfig, 'directory' | 'formats' | 'pollIntervalMs' | 'stableMs' | 'csvDelimiter'> & { charset?: ExtractCharset };

const IGNORED = /^\.|\.(tmp|part|partial|report\.json)$/i;

/** A file we will not read; the message is the report's reason. */
class Refused extends Error {}

const FS_REASONS: Record<string, string> = {
  ENOENT: 'the file disappeared from the folder while it was being read',
  ELOOP: 'is a symbolic link',
  ENAMETOOLONG: 'the name is too long for the file system',
  ENOTDIR: 'the target folder is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'the disk is full',
  EXDEV: 'the target is on another file system',
};

/**
 * Why a file could not be handled, without anything read from it: a parser's own message may
 * quote the bytes it choked on, so only error codes are reported.
 */
function reasonFor(err: unknown): string {
  if (err instanceof Refused || err instanceof NotAnExtract) return err.message;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return `${FS_REASONS[code] ?? 'file system error'} (${code})`;
  if (typeof code === 'string' && code.startsWith('CSV_')) return `could not be read as CSV (${code})`;
  return 'could not be read';
}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  return 'a device';
}

const identityOf = (st: Stats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.nlink}`;

export class FileDropSource {
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;
  private readonly seen = new Map<string, { identity: string; since: number }>();
  /** Files that could not be moved away, by name → identity: not read again while unchanged. */
  private readonly unmovable = new Map<string, string>();
  private closed = false;
  private folderUnreadable = false;

  constructor(
    private readonly config: FileDropConfig,
    private readonly sink: ExtractSink,
    private readonly channel = '',
  ) {}

  start(): void {
    for (const sub of ['processed', 'failed']) mkdirSync(path.join(this.config.directory, sub), { recursive: true });
    this.timer = setInterval(() => void this.poll(), this.config.pollIntervalMs);
    void this.poll();
  }

  /** One scan of the folder; processes every complete file. Resolves when done; never rejects. */
  poll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.busy ??= this.scan()
      .catch((err: unknown) => log.error({ channel: this.channel, reason: reasonFor(err) }, 'extract folder scan failed'))
      .finally(() => (this.busy = undefined));
    return this.busy;
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.config.directory);
    } catch (err) {
      // Once, not every poll, until it can be read again.
      if (!this.folderUnreadable) log.warn({ channel: this.channel, reason: reasonFor(err) }, 'extract folder unreadable');
      this.folderUnreadable = true;
      return;
    }
    this.folderUnreadable = false;
    const listed = new Set(names);
    for (const memo of [this.seen, this.unmovable]) for (const name of memo.keys()) if (!listed.has(name)) memo.delete(name);
    const now = Date.now();
    for (const name of names.sort()) {
      if (this.closed) return;
      const format = formatOf(name);
      if (IGNORED.test(name) || !format || !this.config.formats.includes(format)) continue;
      try {
        await this.consider(name, format, now);
      } catch (err) {
        log.error({ channel: this.channel, file: name, reason: reasonFor(err) }, 'extract could not be handled');
      }
    }
  }

  private async consider(name: string, format: ExtractFormat, now: number): Promise<void> {
    const st = lstatSync(path.join(this.config.directory, name), { throwIfNoEntry: false });
    if (!st) return;
    const identity = identityOf(st);
    if (this.unmovable.get(name) === identity) return;
    if (!st.isFile()) return this.finish(name, identity, 'failed', { error: `not a regular file in the folder (${kindOf(st)}): refused, not read` }, now);
    const prev = this.seen.get(name);
    if (prev?.identity !== identity) {
      this.seen.set(name, { identity, since: now });
      if (this.config.stableMs > 0) return;
    } else if (now - prev.since < this.config.stableMs) return;
    this.seen.delete(name);
    // Judged once stable: a drop by `ln` then `rm` of the staging name has two links briefly.
    if (st.nlink > 1) return this.finish(name, identity, 'failed', { error: 'not a regular file of the folder alone (it has other hard links): refused, not read' }, now);

    const started = Date.now();
    let report: Record<string, unknown>;
    let outcome: 'processed' | 'failed' = 'failed';
    try {
      const batch = await this.read(name, format, st);
      report = { ...batch };
      outcome = batch.accepted > 0 || (batch.rejectedRows === 0 && batch.failed.length === 0) ? 'processed' : 'failed';
    } catch (err) {
      report = { error: reasonFor(err) };
    }
    this.finish(name, identity, outcome, report, started);
  }

  /** Read the file through a descriptor that cannot be a link, a chunk of rows at a time. */
  private async read(name: string, format: ExtractFormat, st: Stats): Promise<BatchReport> {
    // O_NOFOLLOW: a link swapped in after lstat fails (ELOOP) instead of being followed;
    // O_NONBLOCK: a pipe swapped in cannot hang the open.
    const fd = openSync(path.join(this.config.directory, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    let input: ReadStream | undefined;
    try {
      const opened = fstatSync(fd);
      if (!opened.isFile() || opened.ino !== st.ino || opened.dev !== st.dev) throw new Refused('the file was replaced while it was being opened: refused, not read');
      log.info({ channel: this.channel, file: name, bytes: opened.size }, 'extract picked up');
      const batch = this.sink.begin(name, { compact: true });
      input = createReadStream('', { fd, highWaterMark: 256 * 1024 });
      const rows = readExtract(input, { format, charset: this.config.charset ?? 'utf-8', csvDelimiter: this.config.csvDelimiter });
      for await (const chunk of rows) {
        for (const r of chunk) {
          if ('record' in r) batch.add(r.record, r.row);
          else batch.reject(r.row, r.problems);
        }
        // A big extract must not hold up HL7 ACKs or the API: let them in between chunks.
        await yieldToEventLoop();
      }
      return await batch.finish();
    } finally {
      // The stream owns the descriptor once made; wait for it to close, or a read still in
      // flight could land on the next file's descriptor (numbers are reused).
      if (!input) closeSync(fd);
      else if (!input.closed) {
        const stream = input;
        const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
        input.on('error', () => undefined); // the read already failed or ended; that error is reported
        input.destroy();
        await closed;
      }
    }
  }

  /** Move the file to `outcome`/ with its report beside it; a failure to do so is only logged. */
  private finish(name: string, identity: string, outcome: 'processed' | 'failed', report: Record<string, unknown>, started: number): void {
    const target = freeArchivePath(path.join(this.config.directory, outcome), name, new Date());
    const full = { file: name, ...report, outcome } as Record<string, unknown>;
    try {
      renameSync(path.join(this.config.directory, name), target);
    } catch (err) {
      full.notMoved = reasonFor(err);
      // Gone already: nothing to remember. Still here: leave it alone until it changes.
      if ((err as { code?: string }).code !== 'ENOENT') this.unmovable.set(name, identity);
      log.warn({ channel: this.channel, file: name, outcome, reason: full.notMoved }, 'extract could not be moved; not read again until it changes');
    }
    try {
      writeFileSync(target + REPORT_SUFFIX, JSON.stringify({ ...full, durationMs: Date.now() - started }, null, 2) + '\n', { flag: 'wx' });
    } catch (err) {
      log.warn({ channel: this.channel, file: name, reason: reasonFor(err) }, 'extract report could not be written');
    }
    const counts = full.error ? { error: full.error } : { rows: full.rows, accepted: full.accepted, rejected: full.rejectedRows };
    log.info({ channel: this.channel, file: name, outcome, ...counts, durationMs: Date.now() - started }, 'extract done');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.busy;
  }
}
