// Reads an extract file into records. Row-level problems (a CSV row with the wrong number of
// fields, a JSON line that does not parse) are reported by row and never stop the others.
import { parse } from 'csv-parse/sync';

export interface ExtractRows {
  records: Record<string, string | unknown>[];
  /** Source row number of each record (CSV: the header is row 1). */
  rowNumbers: number[];
  problems: { row: number; field: string; reason: string }[];
}

export type ExtractFormat = 'csv' | 'jsonl';

export function formatOf(fileName: string): ExtractFormat | undefined {
  if (/\.csv$/i.test(fileName)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(fileName)) return 'jsonl';
  return undefined;
}

export function readCsv(text: string, delimiter = ','): ExtractRows {
  const rows = parse(text, { bom: true, delimiter, relax_column_count: true, skip_empty_lines: true, relax_quotes: false }) as string[][];
  const out: ExtractRows = { records: [], rowNumbers: [], problems: [] };
  const [header, ...data] = rows;
  if (!header) return out;
  const names = header.map((h) => h.trim());
  data.forEach((cells, i) => {
    const row = i + 2;
    if (cells.length !== names.length) {
      out.problems.push({ row, field: '(row)', reason: `has ${cells.length} fields; the header has ${names.length}` });
      return;
    }
    out.records.push(Object.fromEntries(names.map((n, j) => [n, cells[j]])));
    out.rowNumbers.push(row);
  });
  return out;
}

export function readJsonLines(text: string): ExtractRows {
  const out: ExtractRows = { records: [], rowNumbers: [], problems: [] };
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        const value = JSON.parse(line) as unknown;
        if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
        out.records.push(value as Record<string, unknown>);
        out.rowNumbers.push(i + 1);
      } catch {
        out.problems.push({ row: i + 1, field: '(line)', reason: 'is not a JSON object' });
      }
    });
  return out;
}
