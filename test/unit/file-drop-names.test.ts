// Archive names of dropped files: stamped so reports sort by time, shortened the same way every
// time when a long name would not fit the file system, never overwriting an earlier file.
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { archiveName, freeArchivePath, REPORT_SUFFIX, stampOf } from '../../adapters/file-drop/names.js';

const stamp = stampOf(new Date('2026-06-15T09:30:00.123Z'));

describe('file-drop archive names', () => {
  test('a short name is kept whole after the stamp; stamps sort in time order', () => {
    expect(archiveName('cld-sample.csv', stamp)).toBe('2026-06-15T09-30-00-123Z-cld-sample.csv');
    expect(stampOf(new Date('2026-06-15T09:30:00.999Z')) > stamp).toBe(true);
    expect(stampOf(new Date('2026-06-15T10:00:00.000Z')) > stampOf(new Date('2026-06-15T09:59:59.999Z'))).toBe(true);
  });

  test.each([
    ['236 ASCII characters', `${'a'.repeat(232)}.csv`],
    ['222 ASCII characters', `${'b'.repeat(218)}.csv`],
    ['multi-byte characters', `${'ë'.repeat(200)}.csv`],
  ])('a name of %s is shortened to fit with its report suffix, deterministically', (_what, name) => {
    const short = archiveName(name, stamp);
    expect(Buffer.byteLength(short + REPORT_SUFFIX)).toBeLessThanOrEqual(255);
    expect(short).toBe(archiveName(name, stamp));
    expect(short.startsWith(`${stamp}-${name.slice(0, 10)}`)).toBe(true);
    expect(short).toMatch(/~[0-9a-f]{12}\.csv$/);
    expect(short).not.toContain('\uFFFD');
    // Two long names that share their start still get different archive names.
    expect(archiveName(name.replace(/\.csv$/, 'x.csv'), stamp)).not.toBe(short);
  });

  test('a re-drop in the same millisecond never overwrites the earlier file or report', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-names-'));
    const now = new Date('2026-06-15T09:30:00.123Z');
    const first = freeArchivePath(dir, 'same.csv', now);
    writeFileSync(first, 'x');
    const second = freeArchivePath(dir, 'same.csv', now);
    expect(second).not.toBe(first);
    writeFileSync(second + REPORT_SUFFIX, '{}');
    const third = freeArchivePath(dir, 'same.csv', now);
    expect(new Set([first, second, third]).size).toBe(3);
  });
});
