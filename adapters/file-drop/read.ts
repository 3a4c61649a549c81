// Reads an extract as a stream of rows, in bounded chunks, so a 100 MB file never sits in
// memory whole and the engine keeps answering while it is read. Row-level problems (a CSV row
// with a stray quote or the wrong number of fields, a JSON line that does not parse, text that
// is not in the declared charset) reject that row only, and never quote what the row held.
//
// Bytes are split into rows before they are decoded: CSV delimiters, quotes and newlines are
// ASCII in every charset we accept, and a row whose bytes are not valid in the charset is
// rejected by field instead of being turned into U+FFFD.
import type { Readable } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import iconv from 'iconv-lite';

export type ExtractFormat = 'csv' | 'jsonl';

/** Charsets a file-drop source may declare; single-byte or UTF-8, so ASCII framing holds. */
export const EXTRACT_CHARSETS = ['utf-8', 'latin1', 'windows-1252'] as const;
export type ExtractCharset = (typeof EXTRACT_CHARSETS)[number];

/** One row of an extract, in file order: a record, or why the row could not be read. */
export type ExtractRow = { row: number; record: Record<string, unknown> } | { row: number; problems: { field: string; reason: string }[] };

export interface ReadOptions {
  format: ExtractFormat;
  charset: ExtractCharset;
  csvDelimiter: string;
  /** Rows handed over at a time. */
  chunkRows?: number;
  /** Longest row (bytes) read; longer rows are rejected, bounding memory per row. */
  maxRowBytes?: number;
}

const DEFAULT_CHUNK_ROWS = 500;
const DEFAULT_MAX_ROW_BYTES = 1 << 20;

export function formatOf(fileName: string): ExtractFormat | undefined {
  if (/\.csv$/i.test(fileName)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(fileName)) return 'jsonl';
  return undefined;
}

/** A file that is not an extract at all; the message never quotes it. */
export class NotAnExtract extends Error {}

/**
 * Column names are echoed in reports (`field`), so a first row that does not look like
 * column names (a key file, a binary dropped by mistake) refuses the file instead.
 */
const COLUMN_NAME = /^[\p{L}_][\p{L}\p{N} _.()/-]{0,99}$/u;

function headerOf(cells: Buffer[], charset: ExtractCharset): string[] | NotAnExtract {
  const names = cells.map((c) => decodeText(c, charset)?.trim() ?? '');
  const bad = names.findIndex((n) => !COLUMN_NAME.test(n));
  if (bad >= 0) return new NotAnExtract(`row 1 is not a header of column names (column ${bad + 1} is not a name): not read as an extract`);
  return names;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode bytes in the declared charset; undefined when they are not valid UTF-8. */
export function decodeText(bytes: Buffer, charset: ExtractCharset): string | undefined {
  if (charset !== 'utf-8') return iconv.decode(bytes, charset);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function notInCharset(charset: ExtractCharset): string {
  return charset === 'utf-8'
    ? 'is not valid UTF-8 (if the file is Latin-1 or Windows-1252, declare it with the source option charset)'
    : `could not be decoded as ${charset}`;
}

/** Why csv-parse skipped a record, by its error code; never its message, which quotes the value. */
function csvReason(code: string, maxRowBytes: number): string {
  switch (code) {
    case 'INVALID_OPENING_QUOTE':
      return 'has a quote inside a value that is not quoted (quote the whole value and double the quote)';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'has a quoted value followed by other characters before the delimiter';
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'opens a quote that is never closed; this row and any after it could not be read';
    case 'CSV_MAX_RECORD_SIZE':
      return `is longer than ${maxRowBytes} bytes`;
    default:
      return `could not be read as CSV (${code})`;
  }
}

/** CSV rows (header is row 1) in chunks. */
async function* csvRows(input: Readable, o: Required<ReadOptions>): AsyncGenerator<ExtractRow[]> {
  let header: string[] | undefined;
  let row = 0;
  let lastSkipLine = -1;
  // Records and skips arrive synchronously, in file order, while a chunk of bytes is parsed.
  let ready: ExtractRow[] = [];
  // What ends the read: a refused header, or a parse error that is not one row's. It reaches
  // the loop below through the write callback or this variable; the 'error' listener only
  // keeps an error from being "unhandled" (which would end the process).
  let failed: Error | undefined;
  const parser = parse({
    encoding: null, // fields as bytes: decoded per field below, in the declared charset
    bom: true,
    delimiter: o.csvDelimiter,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: o.maxRowBytes,
    on_record: (record) => {
      const cells = record as unknown as Buffer[]; // encoding: null
      if (failed) return undefined;
      row++;
      if (!header) {
        const names = headerOf(cells, o.charset);
        if (names instanceof NotAnExtract) failed = names;
        else header = names;
      } else ready.push(csvRecord(header, cells, row, o.charset));
      return undefined; // handled here; nothing for the parser to pass on
    },
  });
  parser.on('skip', (err: CsvError & { lines?: number; column?: number }) => {
    // One broken record can raise several skips on the same line: it is one row.
    if (!header) {
      failed ??= new NotAnExtract('row 1 could not be read as a CSV header: not read as an extract');
      return;
    }
    if (err.lines === lastSkipLine) return;
    lastSkipLine = err.lines ?? -1;
    const field = typeof err.column === 'number' ? (header[err.column] ?? '(row)') : '(row)';
    ready.push({ row: ++row, problems: [{ field, reason: csvReason(err.code, o.maxRowBytes) }] });
  });
  parser.on('error', (err: Error) => (failed ??= err));
  parser.resume();
  const feed = (data?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err || failed ? reject(err ?? failed) : resolve());
      if (data) parser.write(data, done);
      else parser.end(done);
    });
  for await (const data of input as AsyncIterable<Buffer>) {
    await feed(data);
    while (ready.length >= o.chunkRows) yield ready.splice(0, o.chunkRows);
  }
  await feed();
  if (ready.length) yield ready;
  ready = [];
}

function csvRecord(header: string[], cells: Buffer[], row: number, charset: ExtractCharset): ExtractRow {
  if (cells.length !== header.length) return { row, problems: [{ field: '(row)', reason: `has ${cells.length} fields; the header has ${header.length}` }] };
  const record: Record<string, string> = {};
  const problems: { field: string; reason: string }[] = [];
  cells.forEach((bytes, i) => {
    const text = decodeText(bytes, charset);
    if (text === undefined) problems.push({ field: header[i] || `(column ${i + 1})`, reason: notInCharset(charset) });
    else record[header[i]] = text;
  });
  return problems.length ? { row, problems } : { row, record };
}

/** Split a byte stream into lines (LF, optional CR) without holding more than one long line. */
async function* lines(input: Readable, maxBytes: number): AsyncGenerator<Buffer | 'too-long'> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  for await (const data of input as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      const part = data.subarray(start, nl);
      start = nl + 1;
      if (tooLong || pendingBytes + part.length > maxBytes) yield 'too-long';
      else yield Buffer.concat([...pending, part]);
      pending = [];
      pendingBytes = 0;
      tooLong = false;
    }
    const rest = data.subarray(start);
    if (tooLong || pendingBytes + rest.length > maxBytes) {
      tooLong = true;
      pending = [];
      pendingBytes = 0;
    } else if (rest.length) {
      pending.push(Buffer.from(rest));
      pendingBytes += rest.length;
    }
  }
  if (tooLong) yield 'too-long';
  else if (pendingBytes) yield Buffer.concat(pending);
}

/** JSON lines (line 1 is the first record) in chunks. */
async function* jsonLineRows(input: Readable, o: Required<ReadOptions>): AsyncGenerator<ExtractRow[]> {
  let row = 0;
  let chunk: ExtractRow[] = [];
  for await (const line of lines(input, o.maxRowBytes)) {
    row++;
    const item = jsonLine(line, row, o.charset);
    if (item) chunk.push(item);
    if (chunk.length >= o.chunkRows) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}

function jsonLine(line: Buffer | 'too-long', row: number, charset: ExtractCharset): ExtractRow | undefined {
  if (line === 'too-long') return { row, problems: [{ field: '(line)', reason: 'is too long' }] };
  const text = decodeText(row === 1 && line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf ? line.subarray(3) : line, charset);
  if (text === undefined) return { row, problems: [{ field: '(line)', reason: notInCharset(charset) }] };
  if (!text.trim()) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return { row, record: value as Record<string, unknown> };
  } catch {
    // reported below, without the text
  }
  return { row, problems: [{ field: '(line)', reason: 'is not a JSON object' }] };
}

/** The rows of an extract, in file order, a bounded chunk at a time. */
export function readExtract(input: Readable, options: ReadOptions): AsyncGenerator<ExtractRow[]> {
  const o: Required<ReadOptions> = { chunkRows: DEFAULT_CHUNK_ROWS, maxRowBytes: DEFAULT_MAX_ROW_BYTES, ...options };
  return o.format === 'csv' ? csvRows(input, o) : jsonLineRows(input, o);
}
