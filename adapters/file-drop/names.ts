// Names of files moved to processed/ or failed/: `<stamp>-<name>` beside
// `<stamp>-<name>.report.json`, so reports sort by time and a re-dropped name never collides.
// A name too long for the file system once stamped is shortened the same way every time.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const REPORT_SUFFIX = '.report.json';

/** Longest file name (bytes) on the file systems we run on (ext4, xfs, btrfs, APFS, NTFS). */
const NAME_MAX = 255;

/** `2026-06-15T09-30-00-123Z`: sorts as text in time order. */
export function stampOf(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

/** The longest prefix of `text` within `bytes` UTF-8 bytes, never splitting a character. */
function truncateBytes(text: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const ch of text) {
    used += Buffer.byteLength(ch);
    if (used > bytes) break;
    out += ch;
  }
  return out;
}

/**
 * `<stamp>-<name>`, or, when that and its report name would not fit, `<stamp>-<start of the
 * name>~<hash of the whole name><extension>`: still recognisable, still unique per name.
 */
export function archiveName(name: string, stamp: string): string {
  const plain = `${stamp}-${name}`;
  if (Buffer.byteLength(plain + REPORT_SUFFIX) <= NAME_MAX) return plain;
  const ext = truncateBytes(path.extname(name), 16);
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  const room = NAME_MAX - Buffer.byteLength(`${stamp}-~${hash}${ext}${REPORT_SUFFIX}`);
  return `${stamp}-${truncateBytes(name.slice(0, name.length - ext.length), room)}~${hash}${ext}`;
}

/** An archive path in `dir` not taken by an earlier file or report (a re-drop in the same ms). */
export function freeArchivePath(dir: string, name: string, now: Date): string {
  const stamp = stampOf(now);
  for (let n = 0; ; n++) {
    const candidate = path.join(dir, archiveName(name, n ? `${stamp}.${n}` : stamp));
    if (!existsSync(candidate) && !existsSync(candidate + REPORT_SUFFIX)) return candidate;
  }
}
